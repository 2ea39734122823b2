from django.http import Http404


def export_people(request, fmt):  # PLACEHOLDER
    raise Http404
