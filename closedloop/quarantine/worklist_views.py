# PLACEHOLDER until this module is written.
from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404


community_worklist = _missing
custodian_worklist = _missing
headquarters_alerts = _missing
