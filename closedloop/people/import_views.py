# PLACEHOLDER until the import views land.
from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404


import_list = import_upload = import_detail = import_mapping = import_start = _missing
import_progress = import_rejected = import_report = _missing
