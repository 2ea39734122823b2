# PLACEHOLDER until this module is written.
from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404


replan_confirm = _missing
replan_preview = _missing
