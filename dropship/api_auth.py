"""Who is calling the JSON API: every router's `auth=` comes from here.

Bearer API keys identify a supplier (dsk_) or a retailer (drk_); the dashboards' own calls use the
session (with CSRF). Both attach the caller's organisation to the request (`request.supplier`,
`request.retailer`, `request.api_key`). `organisation_auth` accepts either kind of organisation,
`supplier_auth` and `retailer_auth` only their own. Missing, malformed, unknown, revoked or expired
credentials answer 401 (with `WWW-Authenticate`); valid credentials of the other kind of
organisation answer 403, and so does a key without the scope the call needs
(dropship/api_scopes.py: `insufficient_scope`, naming it). Session calls keep role-based rights.
The class names are the security schemes' names in the OpenAPI document. Public endpoints that
show more to a retailer ask `viewing_retailer(request)`.
"""

from typing import cast

from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer

from dropship.accounts.access import membership_of
from dropship.accounts.mfa import has_passed_mfa
from dropship.accounts.models import ApiKey, Membership, User
from dropship.accounts.services import authenticate_api_key
from dropship.api_scopes import required_scope
from dropship.core.api_guard import client_ip
from dropship.core.audit import attach_api_caller
from dropship.core.errors import PermissionDenied
from retailers.models import Retailer
from suppliers.models import Supplier


class ApiRequest(HttpRequest):
    """A request `organisation_auth` let in: it works for a supplier or a retailer."""

    supplier: Supplier | None
    retailer: Retailer | None
    api_key: ApiKey | None  # None for the dashboards' session calls


class SupplierApiRequest(ApiRequest):
    """On the routers behind `supplier_auth`."""

    supplier: Supplier


class RetailerApiRequest(ApiRequest):
    """On the routers behind `retailer_auth`."""

    retailer: Retailer


def api_actor(request: ApiRequest) -> User | None:
    """Who acts, for the audit trail and the timelines: the member behind a dashboard session
    call, None for an API key (it is no user; where it matters the key names itself)."""
    if request.api_key is not None or not isinstance(request.user, User):
        return None
    return request.user


def _attach_organisation(
    request: HttpRequest,
    *,
    supplier: Supplier | None,
    retailer: Retailer | None,
    api_key: ApiKey | None,
) -> ApiRequest:
    api_request: ApiRequest = request  # type: ignore[assignment]  # this is where it becomes one
    api_request.api_key = api_key
    api_request.supplier = supplier
    api_request.retailer = retailer
    attach_api_caller(
        api_key=api_key,
        supplier_id=supplier.pk if supplier is not None else None,
        retailer_id=retailer.pk if retailer is not None else None,
    )
    return api_request


def _has_required_second_factor(request: HttpRequest, membership: Membership) -> bool:
    """A dashboard session of a team that requires two-factor authentication counts only once
    it passed the second factor (dropship/accounts/mfa.py gates the pages the same way)."""
    return not membership.organisation.is_mfa_required or has_passed_mfa(request)


class InsufficientScope(PermissionDenied):
    code = "insufficient_scope"

    def __init__(self, scope: str | None) -> None:
        super().__init__(
            f"This key lacks the scope {scope}: create or rotate a key with it on the API keys "
            "page."
            if scope
            else "No API key may call this operation."
        )
        self.headers = {
            "WWW-Authenticate": 'Bearer realm="Dropship API", error="insufficient_scope"'
            + (f', scope="{scope}"' if scope else "")
        }


def check_scope(request: HttpRequest, api_key: ApiKey) -> None:
    """The key holds the scope this call's address and method need; a path in no area is
    refused (fail closed)."""
    scope = required_scope(method=request.method or "GET", path=request.path)
    if scope == "":
        return
    if scope is None or not api_key.has_scope(scope):
        raise InsufficientScope(scope)


def _authenticate_key(request: HttpRequest, token: str) -> ApiKey | None:
    return authenticate_api_key(secret=token, ip=client_ip(request))


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>` with a supplier (dsk_) or retailer (drk_) key holding the
    scope the call needs."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        api_key = _authenticate_key(request, token)
        if api_key is None:
            return None
        self.check_kind(api_key)
        check_scope(request, api_key)
        _attach_organisation(
            request, supplier=api_key.supplier, retailer=api_key.retailer, api_key=api_key
        )
        return api_key

    def check_kind(self, api_key: ApiKey) -> None:
        """Either kind of organisation may call; the subclasses narrow it."""


class SessionOrganisationAuth(APIKeyCookie):
    """The dashboards' own calls: a logged-in member of an organisation, CSRF checked."""

    param_name = "sessionid"

    def _get_key(self, request: HttpRequest) -> str | None:
        """No session, nothing to check: a call without credentials answers 401, not a CSRF 403."""
        if not request.COOKIES.get(self.param_name):
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        membership = membership_of(request)
        if membership is None:
            return None
        if not _has_required_second_factor(request, membership):
            raise HttpError(
                403,
                f"{membership.organisation} requires two-factor authentication: set it up or "
                "enter a code on the website, then try again.",
            )
        _attach_organisation(
            request, supplier=membership.supplier, retailer=membership.retailer, api_key=None
        )
        return user


SUPPLIERS_ONLY = "This operation is for suppliers: use a supplier API key (dsk_…)."
RETAILERS_ONLY = "This operation is for retailers: use a retailer API key (drk_…)."


class SupplierKeyAuth(ApiKeyAuth):
    def check_kind(self, api_key: ApiKey) -> None:
        if api_key.supplier_id is None:
            raise PermissionDenied(SUPPLIERS_ONLY)


class SupplierSessionAuth(SessionOrganisationAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = super().authenticate(request, key)
        if user is not None and cast(ApiRequest, request).supplier is None:
            raise PermissionDenied(SUPPLIERS_ONLY)
        return user


class RetailerKeyAuth(ApiKeyAuth):
    def check_kind(self, api_key: ApiKey) -> None:
        if api_key.retailer_id is None:
            raise PermissionDenied(RETAILERS_ONLY)


class RetailerSessionAuth(SessionOrganisationAuth):
    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = super().authenticate(request, key)
        if user is not None and cast(ApiRequest, request).retailer is None:
            raise PermissionDenied(RETAILERS_ONLY)
        return user


def viewing_retailer(request: HttpRequest) -> Retailer | None:
    """The retailer behind a public call, or None for a visitor; a bad bearer key answers 401
    rather than silently browsing as a visitor."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        api_key = _authenticate_key(request, token.strip()) if scheme.lower() == "bearer" else None
        if api_key is None:
            raise AuthenticationError
        check_scope(request, api_key)
        return api_key.retailer
    membership = membership_of(request)
    if membership is None or not _has_required_second_factor(request, membership):
        return None  # a session still owing its team's second factor browses as a visitor
    return membership.retailer


organisation_auth = [ApiKeyAuth(), SessionOrganisationAuth()]
supplier_auth = [SupplierKeyAuth(), SupplierSessionAuth()]
retailer_auth = [RetailerKeyAuth(), RetailerSessionAuth()]
