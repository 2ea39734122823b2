# PLACEHOLDER until this module is written.
from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404


certificate_view = _missing
release_view = _missing
verify_view = _missing
