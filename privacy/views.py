"""The Privacy settings page: export my data (and my organisation's, for an owner), follow the
exports, download them, delete my account or my organisation."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dropship.accounts.access import AuthenticatedRequest, membership_of
from dropship.core.errors import DomainError
from privacy import selectors
from privacy.forms import ConfirmDeletionForm
from privacy.services import erasure, exports


def _page(request: AuthenticatedRequest, *, status: int = 200, **forms) -> HttpResponse:
    membership = membership_of(request)
    organisation = membership.organisation if membership is not None else None
    is_owner = membership is not None and membership.is_owner
    account_form = forms.get("account_form") or ConfirmDeletionForm(
        label="Type your e-mail address to confirm", prefix="account"
    )
    organisation_form = forms.get("organisation_form") or ConfirmDeletionForm(
        label="Type the organisation's name to confirm", prefix="organisation"
    )
    context = {
        "exports": selectors.list_data_exports_for_user(user=request.user),
        "organisation": organisation,
        "is_owner": is_owner,
        "account_blockers": erasure.account_deletion_blockers(user=request.user),
        "organisation_blockers": (
            erasure.organisation_deletion_blockers(organisation=organisation, user=request.user)
            if is_owner and organisation is not None
            else []
        ),
        "account_form": account_form,
        "organisation_form": organisation_form,
        "blocked": forms.get("blocked"),
    }
    return render(request, "privacy/settings.html", context, status=status)


@require_GET
@login_required
def privacy_settings(request: AuthenticatedRequest) -> HttpResponse:
    return _page(request)


@require_POST
@login_required
def request_export(request: AuthenticatedRequest) -> HttpResponse:
    try:
        exports.request_data_export(user=request.user, scope=request.POST.get("scope", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("privacy:settings")
    messages.success(
        request, "Your export is being prepared; we will e-mail you a link when it is ready."
    )
    return redirect("privacy:settings")


@require_GET
@login_required
def export_progress(request: AuthenticatedRequest, public_id: str) -> HttpResponse:
    """Polled by the page while an export is being prepared."""
    export = selectors.get_data_export_for_requester(user=request.user, public_id=public_id)
    return render(request, "privacy/_export_row.html", {"export": export})


@require_GET
@login_required
def download_export(request: AuthenticatedRequest, public_id: str) -> FileResponse:
    export = selectors.get_data_export_for_requester(user=request.user, public_id=public_id)
    if not export.is_downloadable:
        raise Http404("This export is not available (it expired or is not ready).")
    return FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=f"dropship-data-{export.created_at:%Y%m%d}.zip",
        content_type="application/zip",
    )


@require_POST
@login_required
def delete_account(request: AuthenticatedRequest) -> HttpResponse:
    form = ConfirmDeletionForm(
        request.POST, label="Type your e-mail address to confirm", prefix="account"
    )
    if not form.is_valid():
        return _page(request, status=400, account_form=form)
    try:
        erasure.delete_account(user=request.user, confirmation=form.cleaned_data["confirmation"])
    except erasure.ErasureBlocked as exc:
        return _page(request, status=409, blocked=exc)
    except DomainError as exc:
        form.add_error("confirmation", exc.message)
        return _page(request, status=400, account_form=form)
    logout(request)
    messages.success(request, "Your account was deleted and your personal data erased.")
    return redirect("home")


@require_POST
@login_required
def delete_organisation(request: AuthenticatedRequest) -> HttpResponse:
    form = ConfirmDeletionForm(
        request.POST, label="Type the organisation's name to confirm", prefix="organisation"
    )
    if not form.is_valid():
        return _page(request, status=400, organisation_form=form)
    try:
        erasure.delete_organisation(
            user=request.user, confirmation=form.cleaned_data["confirmation"]
        )
    except erasure.ErasureBlocked as exc:
        return _page(request, status=409, blocked=exc)
    except DomainError as exc:
        if exc.status_code == 403:
            raise Http404 from exc
        form.add_error("confirmation", exc.message)
        return _page(request, status=400, organisation_form=form)
    logout(request)
    messages.success(
        request, "Your organisation and your account were deleted; personal data was erased."
    )
    return redirect("home")
