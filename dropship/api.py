"""The JSON API at /api/v1/ (django-ninja). Each app adds a router; auth is shared here.

Bearer API keys identify a supplier or a retailer; the dashboards' own calls use the session
(with CSRF). Domain errors become 4xx answers carrying the message a user can read.
"""

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer

from dropship.accounts.models import ApiKey, User
from dropship.accounts.selectors import get_membership
from dropship.accounts.services import authenticate_api_key
from dropship.core.errors import DomainError
from retailers.models import Retailer
from suppliers.models import Supplier


class ApiRequest(HttpRequest):
    """A request the organisation auth below let in: it works for a supplier or a retailer."""

    supplier: Supplier | None
    retailer: Retailer | None
    api_key: ApiKey | None  # None for the dashboards' session calls


class SupplierApiRequest(ApiRequest):
    """On the routers that accept supplier credentials only."""

    supplier: Supplier


class RetailerApiRequest(ApiRequest):
    """On the routers that accept retailer credentials only."""

    retailer: Retailer


def _attach_organisation(
    request: HttpRequest, *, supplier: Supplier | None, retailer: Retailer | None
) -> ApiRequest:
    api_request: ApiRequest = request  # type: ignore[assignment]  # this is where it becomes one
    api_request.supplier = supplier
    api_request.retailer = retailer
    return api_request


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>` with a supplier (dsk_) or retailer (drk_) key."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        api_key = authenticate_api_key(secret=token)
        if api_key is None:
            return None
        api_request = _attach_organisation(
            request, supplier=api_key.supplier, retailer=api_key.retailer
        )
        api_request.api_key = api_key
        return api_key


class SessionOrganisationAuth(APIKeyCookie):
    """The dashboards' own calls: a logged-in member of an organisation, CSRF checked."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        membership = get_membership(user=user)
        if membership is None:
            return None
        api_request = _attach_organisation(
            request, supplier=membership.supplier, retailer=membership.retailer
        )
        api_request.api_key = None
        return user


organisation_auth = [ApiKeyAuth(), SessionOrganisationAuth()]


class ErrorOut(Schema):
    detail: str
    field: str | None = None


api = NinjaAPI(
    title="Dropship API",
    version="1",
    description="Suppliers push stock and fulfil orders; retailers import products and send orders.",
    urls_namespace="api",
)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(
        request, {"detail": exc.message, "field": exc.field}, status=exc.status_code
    )


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": "Missing, invalid or revoked API key. Send `Authorization: Bearer <key>`."},
        status=401,
    )


class MeOut(Schema):
    kind: str
    organisation_id: int
    name: str


@api.get("/me", auth=organisation_auth, response={200: MeOut, 401: ErrorOut}, tags=["account"])
def me(request: ApiRequest) -> MeOut:
    """Which organisation the credentials belong to."""
    if request.supplier is not None:
        return MeOut(
            kind="supplier", organisation_id=request.supplier.pk, name=request.supplier.company_name
        )
    assert request.retailer is not None  # noqa: S101  # the auth lets in one or the other
    return MeOut(
        kind="retailer", organisation_id=request.retailer.pk, name=request.retailer.business_name
    )


api.add_router("/supplier", "catalog.api.router")
api.add_router("/billing", "billing.api.router")
api.add_router("/supplier/orders", "orders.supplier_api.router")
api.add_router("/orders", "orders.api.router")
api.add_router("", "retailers.api.router")
api.add_router("/sync", "retailers.sync_api.router")
api.add_router("/suppliers", "catalog.browse_api.suppliers_router")
api.add_router("/catalog", "catalog.browse_api.catalog_router")
