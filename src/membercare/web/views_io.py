"""Import and export pages (stub: filled in by the import/export work)."""

from django.http import HttpResponse


def import_upload(request):
    return HttpResponse(status=501)


def import_preview(request, pk):
    return HttpResponse(status=501)


def export_members(request):
    return HttpResponse(status=501)
