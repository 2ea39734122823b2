# PLACEHOLDER until this module is written.
from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404


episode_close_view = _missing
episode_detail = _missing
episode_list = _missing
episode_place_view = _missing
handover_give_view = _missing
handover_receive_view = _missing
handover_refuse_view = _missing
