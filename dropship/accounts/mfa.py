"""Two-factor authentication (allauth.mfa) where Dropship requires it.

Staff (platform admins, support agents) reach the Django admin, and members of an organisation
whose owner requires it reach the workspace, only after passing a second factor in this session:
allauth records every factor a session passed ("mfa" for a TOTP code, a recovery code, a security
key or a passkey). Without an authenticator they are sent to set one up; with one but no second
factor in this session (a session opened around allauth's login, e.g. the admin's own login form
before it was routed to allauth) they are asked for a code. API keys are not people: the gate
never looks at them (the dashboards' session calls to the API are checked in api_auth).
"""

from typing import Any
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from dropship.accounts.access import membership_of
from dropship.accounts.models import User
from dropship.accounts.selectors import SECOND_FACTOR_TYPES, has_second_factor
from dropship.core.fields import decrypt_str, encrypt_str

STAFF_REASON = "Staff must use two-factor authentication to open the admin."
TEAM_REASON = "{organisation} requires two-factor authentication for everyone on the team."


class MfaAdapter(DefaultMFAAdapter):
    """TOTP secrets and the recovery-code seed are stored encrypted, like store credentials."""

    def encrypt(self, text: str) -> str:
        return encrypt_str(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_str(encrypted_text)


def has_passed_mfa(request: HttpRequest) -> bool:
    """Whether this session's user passed a second factor since they logged in."""
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def mfa_requirement(request: HttpRequest) -> str | None:
    """Why this request needs a second factor, or None when it does not."""
    user = request.user
    if not user.is_authenticated:
        return None
    if request.path.startswith(reverse("admin:index")):
        return STAFF_REASON if user.is_staff else None
    if request.path.startswith(_exempt_prefixes()):
        return None
    membership = membership_of(request)
    if membership is not None and membership.organisation.is_mfa_required:
        return TEAM_REASON.format(organisation=membership.organisation)
    return None


def _exempt_prefixes() -> tuple[str, ...]:
    """Pages a person must reach to set up or pass the second factor, or that are no workspace:
    login, logout and the MFA pages (/accounts/), static files, the health check, webhooks and
    the API (its session calls are checked by api_auth, API keys are never gated)."""
    account_root = reverse("account_login").rsplit("login/", 1)[0]
    return (
        account_root,
        settings.STATIC_URL if settings.STATIC_URL.startswith("/") else f"/{settings.STATIC_URL}",
        reverse("health"),
        "/webhooks/",
        "/api/",
    )


def mfa_gate_redirect(request: HttpRequest) -> HttpResponse | None:
    """Where a request that needs a second factor it has not passed goes instead."""
    reason = mfa_requirement(request)
    if reason is None or has_passed_mfa(request):
        return None
    next_query = urlencode({"next": request.get_full_path()})
    if not has_second_factor(user=request.user):  # type: ignore[arg-type]
        messages.warning(
            request, f"{reason} Set up an authenticator app or a security key to continue."
        )
        return _redirect(request, f"{reverse('mfa_index')}?{next_query}")
    messages.info(
        request, f"{reason} Confirm with your authenticator app or security key to continue."
    )
    return _redirect(request, f"{reverse('mfa_reauthenticate')}?{next_query}")


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """An htmx call would swap the MFA page into a fragment: it is told to load the page."""
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


class RequireMfaMiddleware:
    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return mfa_gate_redirect(request) or self.get_response(request)


def record_enrolment_as_factor(
    sender: Any, request: HttpRequest | None, user: User, authenticator: Authenticator, **_: Any
) -> None:
    """Setting up TOTP or a security key proves the factor (a code from the app, a signature
    from the key), so it counts as passed for this session: the person is not asked for a
    second code a minute after the first."""
    if request is not None and authenticator.type in SECOND_FACTOR_TYPES:
        record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)
