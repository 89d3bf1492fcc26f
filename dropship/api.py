"""The JSON API at /api/v1/ (django-ninja). Each app adds a router; who may call it is decided in
dropship/api_auth.py. Domain errors become 4xx answers carrying the message a user can read.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.parser import Parser

from dropship.api_auth import ApiRequest, organisation_auth
from dropship.core.errors import DomainError
from dropship.core.safe_json import BadJson, load_json


class ErrorOut(Schema):
    detail: str
    field: str | None = None


class SafeJsonParser(Parser):
    """Request bodies go through the one safe loader (no deep nesting, NaN or NUL characters)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return load_json(request.body)


api = NinjaAPI(
    parser=SafeJsonParser(),
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


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """ninja answers a body its parser refused with "Cannot parse request body": say why."""
    detail = exc.__cause__.message if isinstance(exc.__cause__, BadJson) else str(exc)
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


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


api.add_router("/supplier", "catalog.api.supplier.router")
api.add_router("/billing", "billing.api.router")
api.add_router("/supplier/orders", "orders.api.supplier.router")
api.add_router("/orders", "orders.api.retailer.router")
api.add_router("/analytics", "orders.api.analytics.router")
api.add_router("", "retailers.api.imports.router")
api.add_router("/sync", "retailers.api.sync.router")
api.add_router("/suppliers", "retailers.api.catalog.suppliers_router")
api.add_router("/catalog", "retailers.api.catalog.catalog_router")
