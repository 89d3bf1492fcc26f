"""A return's private files (the retailer's photos, the supplier's label), served to the two
parties of the return only: both sides' views scope the return first, then call this."""

from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpResponse

from orders.models import ReturnRequest


def _file(field: FieldFile, content_type: str, *, name: str) -> HttpResponse:
    """Photos (5 MB at most) and labels (10 MB) are read whole: no stream is left open."""
    if not field:
        raise Http404("No such file.")
    with field.open("rb") as handle:
        content = handle.read()
    response = HttpResponse(content, content_type=content_type or "application/octet-stream")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def return_file_response(return_request: ReturnRequest, *, kind: str, file_id: int) -> HttpResponse:
    """The label, or one of the photos, of a return the caller is a party to."""
    if kind == "label":
        return _file(
            return_request.label_file,
            return_request.label_content_type,
            name=f"{return_request.number}-label",
        )
    photo = next((p for p in return_request.photos.all() if p.pk == file_id), None)
    if kind != "photo" or photo is None:
        raise Http404("No such file.")
    return _file(photo.image, photo.content_type, name=f"{return_request.number}-{photo.pk}")
