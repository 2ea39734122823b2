from django.conf import settings

from closedloop.core.roles import Cap


def platform(request):
    user = getattr(request, "user", None)
    caps = {c: bool(user and user.is_authenticated and user.can(c)) for c in Cap.values}
    return {"caps": caps, "CITY_CODE": settings.CITY_CODE}
