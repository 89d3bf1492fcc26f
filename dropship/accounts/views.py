from datetime import timedelta

from allauth.account.views import SignupView as AllauthSignupView
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dropship.accounts import selectors, services
from dropship.accounts.access import AuthenticatedRequest, membership_of
from dropship.accounts.forms import (
    INVITATION_SESSION_KEY,
    ApiKeyForm,
    AuditFilterForm,
    InviteMemberForm,
    RotateApiKeyForm,
    TeamMfaForm,
)
from dropship.accounts.models import ApiKey, Membership
from dropship.accounts.view_as import leave_view_as
from dropship.core.admin_utils import admin_url
from dropship.core.errors import DomainError
from dropship.core.models import describe_target_type
from suppliers.selectors import get_supplier_landing_url


class SignupView(AllauthSignupView):
    """allauth's signup, made atomic: the user, its organisation and membership exist together or not at all."""

    def get_form_kwargs(self) -> dict:
        kwargs = super().get_form_kwargs()
        kwargs["request"] = self.request
        return kwargs

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        token = self.request.session.get(INVITATION_SESSION_KEY)
        if token:
            try:
                context["invitation"] = services.get_pending_invitation(token=token)
                context["form"].fields["email"].initial = context["invitation"].email
            except DomainError:
                self.request.session.pop(INVITATION_SESSION_KEY, None)
        return context

    def form_valid(self, form) -> HttpResponse:
        try:
            with transaction.atomic():
                return super().form_valid(form)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)


signup = SignupView.as_view()


@login_required
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    """Send each kind of user to their own home."""
    membership = membership_of(request)
    if membership is not None and membership.supplier is not None:
        return redirect(get_supplier_landing_url(supplier=membership.supplier))
    if membership is not None and membership.retailer_id:
        return redirect("retailers:dashboard")
    if request.user.is_staff:
        return redirect("admin:index")
    return render(request, "accounts/no_organisation.html")


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.get_pending_invitation(token=token)
    except DomainError as exc:
        return render(
            request, "accounts/invitation_invalid.html", {"error": exc.message}, status=404
        )
    if not request.user.is_authenticated:
        request.session[INVITATION_SESSION_KEY] = token
        messages.info(
            request,
            f"Create your account with {invitation.email} to join {invitation.organisation}.",
        )
        return redirect("account_signup")
    if request.method == "POST":
        try:
            services.accept_invitation(token=token, user=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("dashboard")
        messages.success(request, f"Welcome to {invitation.organisation}.")
        return redirect("dashboard")
    return render(request, "accounts/invitation_accept.html", {"invitation": invitation})


def _owner_membership_or_refusal(request: AuthenticatedRequest) -> Membership | HttpResponse:
    membership = membership_of(request)
    if membership is None:
        return render(request, "accounts/no_organisation.html", status=403)
    if not membership.is_owner:
        return render(request, "owner_only.html", status=403)
    return membership


@login_required
def team(request: AuthenticatedRequest) -> HttpResponse:
    membership = _owner_membership_or_refusal(request)
    if isinstance(membership, HttpResponse):
        return membership
    form = InviteMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invite_member(
                inviter=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except DomainError as exc:
            form.add_error("email", exc.message)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("accounts:team")
    organisation = membership.organisation
    return render(
        request,
        "accounts/team.html",
        {
            "form": form,
            "mfa_form": TeamMfaForm(initial={"is_mfa_required": organisation.is_mfa_required}),
            "organisation": organisation,
            "owner_has_mfa": selectors.has_second_factor(user=request.user),
            "members": selectors.list_members(organisation=organisation),
            "invitations": selectors.list_pending_invitations(organisation=organisation),
        },
    )


@login_required
@require_POST
def team_mfa(request: AuthenticatedRequest) -> HttpResponse:
    """The owner's control: require two-factor authentication for the whole team, or not."""
    membership = _owner_membership_or_refusal(request)
    if isinstance(membership, HttpResponse):
        return membership
    form = TeamMfaForm(request.POST)
    form.is_valid()  # a checkbox: absent means off, every input is valid
    is_required = form.cleaned_data["is_mfa_required"]
    try:
        services.set_team_mfa_requirement(owner=request.user, is_required=is_required)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "Two-factor authentication is now required for everyone on the team."
            if is_required
            else "Two-factor authentication is now optional for the team.",
        )
    return redirect("accounts:team")


def _api_keys_page(
    request: AuthenticatedRequest,
    membership: Membership,
    *,
    form: ApiKeyForm | None = None,
    new_secret: str | None = None,
    status: int = 200,
) -> HttpResponse:
    kind = membership.kind
    return render(
        request,
        "accounts/api_keys.html",
        {
            "form": form or ApiKeyForm(kind=kind),
            "rotate_form": RotateApiKeyForm(),
            "new_secret": new_secret,
            "keys": selectors.list_api_keys(organisation=membership.organisation),
        },
        status=status,
    )


@login_required
def api_keys(request: AuthenticatedRequest) -> HttpResponse:
    membership = _owner_membership_or_refusal(request)
    if isinstance(membership, HttpResponse):
        return membership
    if request.method != "POST":
        return _api_keys_page(request, membership)
    form = ApiKeyForm(request.POST, kind=membership.kind)
    if not form.is_valid():
        return _api_keys_page(request, membership, form=form, status=422)
    days = form.cleaned_data["expires_in_days"]
    try:
        _, new_secret = services.create_api_key(
            organisation=membership.organisation,
            name=form.cleaned_data["name"],
            created_by=request.user,
            scopes=form.cleaned_data["chosen_scopes"],
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _api_keys_page(request, membership, form=form, status=422)
    return _api_keys_page(request, membership, new_secret=new_secret)


def _owned_api_key(
    request: AuthenticatedRequest, api_key_id: int
) -> tuple[Membership, ApiKey] | HttpResponse:
    """The owner's membership and that key of their organisation; the refusal page for a
    non-owner, 404 for a key of another organisation."""
    membership = _owner_membership_or_refusal(request)
    if isinstance(membership, HttpResponse):
        return membership
    try:
        api_key = selectors.get_api_key_for_organisation(
            organisation=membership.organisation, api_key_id=api_key_id
        )
    except ApiKey.DoesNotExist as exc:
        raise Http404 from exc
    return membership, api_key


@login_required
@require_POST
def rotate_api_key(request: AuthenticatedRequest, api_key_id: int) -> HttpResponse:
    owned = _owned_api_key(request, api_key_id)
    if isinstance(owned, HttpResponse):
        return owned
    membership, api_key = owned
    form = RotateApiKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose how long the old key keeps working.")
        return redirect(reverse("accounts:api_keys"))
    try:
        _, new_secret = services.rotate_api_key(
            api_key=api_key,
            grace=timedelta(hours=form.cleaned_data["grace_hours"]),
            rotated_by=request.user,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("accounts:api_keys"))
    messages.success(request, f"Key “{api_key.name}” rotated: put the new key in place now.")
    return _api_keys_page(request, membership, new_secret=new_secret)


@login_required
@require_POST
def revoke_api_key(request: AuthenticatedRequest, api_key_id: int) -> HttpResponse:
    owned = _owned_api_key(request, api_key_id)
    if isinstance(owned, HttpResponse):
        return owned
    _, api_key = owned
    services.revoke_api_key(api_key=api_key, revoked_by=request.user)
    messages.success(request, f"Key “{api_key.name}” revoked. Calls using it now get 401.")
    return redirect(reverse("accounts:api_keys"))


@require_POST
def end_view_as(request: HttpRequest) -> HttpResponse:
    """The banner's "End view" button (the one write a read-only view allows): back to the
    organisation's admin page."""
    view_as = leave_view_as(request)
    if view_as is None:
        return redirect("admin:index")
    messages.success(request, f"You stopped viewing {view_as.organisation}.")
    return redirect(admin_url(view_as.organisation) or reverse("admin:index"))


AUDIT_PAGE_SIZE = 50


@login_required
@require_GET
def audit_log(request: AuthenticatedRequest) -> HttpResponse:
    """The owner's view of everything done in and to the organisation (docs/architecture.md)."""
    membership = _owner_membership_or_refusal(request)
    if isinstance(membership, HttpResponse):
        return membership
    organisation = membership.organisation
    values = selectors.list_audit_filter_values(organisation=organisation)
    form = AuditFilterForm(
        request.GET or None,
        values=values,
        type_labels={value: describe_target_type(value) for value in values["target_type"]},
    )
    filters: dict = {}
    status = 200
    if form.is_bound:
        if form.is_valid():
            filters = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
        else:
            status = 400
    entries = selectors.list_audit_entries_for_organisation(organisation=organisation, **filters)
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/audit_log.html",
        {
            "form": form,
            "page": page,
            "organisation": organisation,
            "is_filtered": bool(filters),
            "query": query.urlencode(),
        },
        status=status,
    )


NOTIFICATION_PAGE_SIZE = 25


def _member_or_refusal(request: AuthenticatedRequest) -> Membership | HttpResponse:
    membership = membership_of(request)
    if membership is None:
        return render(request, "accounts/no_organisation.html", status=403)
    return membership


def _notifications_page_number(request: HttpRequest) -> int:
    """The page to show again after a change (a form posts it back); bad values mean page 1."""
    raw = request.POST.get("page") or request.GET.get("page") or "1"
    return int(raw) if raw.isdigit() and 0 < len(raw) < 6 else 1


@login_required
@require_GET
def notifications(request: AuthenticatedRequest) -> HttpResponse:
    """The organisation's notification centre, newest first; every member sees it."""
    membership = _member_or_refusal(request)
    if isinstance(membership, HttpResponse):
        return membership
    entries = selectors.list_notifications(organisation=membership.organisation)
    page = Paginator(entries, NOTIFICATION_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accounts/notifications.html", {"page": page})


@login_required
@require_POST
def mark_notification_read(request: AuthenticatedRequest, notification_id: int) -> HttpResponse:
    membership = _member_or_refusal(request)
    if isinstance(membership, HttpResponse):
        return membership
    notification = selectors.get_notification_for_organisation(
        organisation=membership.organisation, notification_id=notification_id
    )
    services.mark_notification_read(notification=notification, user=request.user)
    if request.htmx:
        return render(
            request,
            "accounts/_notification_row.html",
            {
                "notification": notification,
                "page_number": _notifications_page_number(request),
                "oob_badge": True,
            },
        )
    return redirect(
        f"{reverse('accounts:notifications')}?page={_notifications_page_number(request)}"
    )


@login_required
@require_POST
def mark_all_notifications_read(request: AuthenticatedRequest) -> HttpResponse:
    membership = _member_or_refusal(request)
    if isinstance(membership, HttpResponse):
        return membership
    marked = services.mark_all_notifications_read(
        organisation=membership.organisation, user=request.user
    )
    if request.htmx:
        return _notifications_list_fragment(request, membership)
    messages.success(request, f"{marked} notification{'s'[: marked != 1]} marked read.")
    return redirect(
        f"{reverse('accounts:notifications')}?page={_notifications_page_number(request)}"
    )


def _notifications_list_fragment(request: HttpRequest, membership: Membership) -> HttpResponse:
    entries = selectors.list_notifications(organisation=membership.organisation)
    page = Paginator(entries, NOTIFICATION_PAGE_SIZE).get_page(_notifications_page_number(request))
    return render(request, "accounts/_notification_list.html", {"page": page, "oob_badge": True})
