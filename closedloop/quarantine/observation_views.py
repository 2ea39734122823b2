# PLACEHOLDER until this module is written.
from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404


alert_resolve_view = _missing
check_round_view = _missing
health_check_view = _missing
result_upload_view = _missing
specimen_view = _missing
