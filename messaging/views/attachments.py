"""An attachment, served from private storage only to the parties of its thread and to staff
who may read conversations; anyone else gets 404 (the file's existence is not revealed)."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest
from django.views.decorators.http import require_GET

from dropship.accounts.access import membership_of
from messaging import selectors


@require_GET
@login_required
def download(request: HttpRequest, attachment_id: int) -> FileResponse:
    membership = membership_of(request)
    attachment = selectors.get_attachment_for_viewer(
        attachment_id=attachment_id,
        retailer=membership.retailer if membership else None,
        supplier=membership.supplier if membership else None,
        is_staff=request.user.is_staff and request.user.has_perm("messaging.view_thread"),
    )
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=attachment.content_type == "application/pdf",
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
