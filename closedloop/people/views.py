# PLACEHOLDER until the UI engineer replaces this file.
from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404


person_list = person_create = person_detail = person_edit = person_unmask = _missing
household_list = household_detail = review_list = review_detail = _missing
