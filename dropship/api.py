"""The JSON API at /api/v1/ (django-ninja). Each app adds a router; who may call it is decided in
dropship/api_auth.py. Domain errors become 4xx answers carrying the message a user can read.
"""

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from dropship.api_auth import ApiRequest, organisation_auth
from dropship.core.api_guard import rate_of
from dropship.core.errors import DomainError
from dropship.core.problems import PROBLEM_CONTENT_TYPE, problem_response
from dropship.core.safe_json import BadJson, load_json

logger = logging.getLogger(__name__)

WWW_AUTHENTICATE = 'Bearer realm="Dropship API"'


class FieldErrorOut(Schema):
    field: str
    code: str
    message: str


class ErrorOut(Schema):
    """Every error: RFC 9457 problem details, served as application/problem+json."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    field: str | None
    errors: list[FieldErrorOut]


class SafeJsonParser(Parser):
    """Request bodies go through the one safe loader (no deep nesting, NaN or NUL characters)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return load_json(request.body)


# Answers every operation can give besides its own: the input guard (400 for control
# characters, 413 for a large body), validation (422) and the rate limiter (429).
COMMON_ERRORS = {
    "400": "A control character in the address, the query or a header, or a body that is not JSON.",
    "413": "The request body is larger than 10 MB.",
    "422": "A parameter or a body field is invalid; `field` and `errors` name it.",
    "429": "Over the rate limit; retry after `Retry-After` seconds.",
}
IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Send the same key again (within 24 hours, with the same request) to get the "
    "first answer again instead of doing the work twice; see the guide.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "example": "5f1c1a6e-3c1f-4d7e-9a55-0b6c1d2e3f40",
}
IDEMPOTENCY_ERRORS = {
    "409": "The first request with this `Idempotency-Key` is still being answered.",
    "422": "A parameter or a body field is invalid; `field` and `errors` name it. Also: this "
    "`Idempotency-Key` was used for another request (`idempotency_key_reused`).",
}
# OpenAPI links: how one operation's answer feeds the next (clients and schemathesis' stateful
# runs follow them). (method, path, status) -> {link name: (operationId, {parameter: value})}.
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, dict[str, str]]]] = {
    ("get", "/api/v1/supplier/orders", "200"): {
        "GetSupplierOrder": (
            "orders_supplier_api_get_order",
            {"supplier_order_id": "$response.body#/items/0/id"},
        ),
        "AcceptSupplierOrder": (
            "orders_supplier_api_accept_order",
            {"supplier_order_id": "$response.body#/items/0/id"},
        ),
        "ShipSupplierOrder": (
            "orders_supplier_api_ship_order",
            {"supplier_order_id": "$response.body#/items/0/id"},
        ),
    },
    ("post", "/api/v1/supplier/orders/{supplier_order_id}/accept", "200"): {
        "ShipAcceptedOrder": (
            "orders_supplier_api_ship_order",
            {"supplier_order_id": "$request.path.supplier_order_id"},
        ),
    },
    ("get", "/api/v1/billing/invoices", "200"): {
        "GetInvoice": ("billing_api_get_invoice", {"number": "$response.body#/items/0/number"}),
    },
    ("post", "/api/v1/orders", "201"): {
        "GetOrderStatus": ("orders_api_order_status", {"order_id": "$response.body#/id"}),
    },
    ("post", "/api/v1/orders", "200"): {
        "GetOrderStatus": ("orders_api_order_status", {"order_id": "$response.body#/id"}),
    },
    ("post", "/api/v1/products/import", "202"): {
        "GetImportJob": ("retailers_api_get_job", {"job_id": "$response.body#/job_id"}),
    },
}
AUTH_ERRORS = {
    "401": "Missing, malformed, unknown, revoked or expired credentials (see `WWW-Authenticate`).",
    "403": "Valid credentials that may not use this operation: a key of the other kind, or "
    "without the scope it needs (`insufficient_scope`).",
}


class DropshipApi(NinjaAPI):
    """The document lists every status an operation can answer, all in the one error shape."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        schema["components"].setdefault("schemas", {}).update(
            {"ErrorOut": _error_schema(), "FieldErrorOut": FieldErrorOut.model_json_schema()}
        )
        problem = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                # Routes declare statuses as ints, the extras below as strings: one key per
                # status, or the JSON document repeats a key (Swagger UI refuses it).
                responses: dict[str, Any] = {}
                for status, response in operation["responses"].items():
                    responses.setdefault(str(status), response)
                operation["responses"] = responses
                extra = dict(COMMON_ERRORS)
                if operation.get("security"):
                    extra.update(AUTH_ERRORS)
                if method in {"post", "put", "patch", "delete"}:
                    operation.setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
                    extra.update(IDEMPOTENCY_ERRORS)
                if "{" in path:
                    extra["404"] = "No such object of yours."
                for status, description in extra.items():
                    responses.setdefault(status, {"description": description})
                for status, response in responses.items():
                    if int(status) >= 400:
                        response["content"] = problem
                    links = LINKS.get((method, path, status))
                    if links:
                        response["links"] = {
                            name: {"operationId": operation_id, "parameters": parameters}
                            for name, (operation_id, parameters) in links.items()
                        }
                responses["429"]["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}},
                    "X-RateLimit-Limit": {"schema": {"type": "integer"}},
                    "X-RateLimit-Remaining": {"schema": {"type": "integer"}},
                    "X-RateLimit-Reset": {"schema": {"type": "integer"}},
                }
                if "401" in responses:
                    responses["401"]["headers"] = {
                        "WWW-Authenticate": {"schema": {"type": "string"}}
                    }
        return schema


def _error_schema() -> dict[str, Any]:
    schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


api = DropshipApi(
    parser=SafeJsonParser(),
    title="Dropship API",
    version="1",
    description=(
        "Suppliers push stock and fulfil orders; retailers import products and send orders. "
        "Every error is `application/problem+json` (RFC 9457) with a stable `code`; "
        "the [integrator guide](/api/v1/guide) explains authentication, scopes, pagination, "
        "idempotency, rate limits and the webhooks we send."
    ),
    urls_namespace="api",
)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return problem_response(
        status=exc.status_code,
        detail=exc.message,
        code=getattr(exc, "code", None),
        field=exc.field,
        headers=getattr(exc, "headers", None),
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """ninja answers a body its parser refused with "Cannot parse request body": say why."""
    detail = exc.__cause__.message if isinstance(exc.__cause__, BadJson) else str(exc)
    return problem_response(status=exc.status_code, detail=detail)


def _field(location: tuple[Any, ...] | list[Any]) -> str:
    """ninja's error location without its own prefixes: ("body", "payload", "items", 0, "sku")
    is `items.0.sku`, ("query", "page") is `page`."""
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
        parts = parts[1:]
    if parts and parts[0] in {"payload", "params", "filters", "pagination"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "field": _field(error.get("loc", ())),
            "code": str(error.get("type", "invalid")),
            "message": str(error.get("msg", "Invalid value.")),
        }
        for error in exc.errors
    ]
    first = errors[0] if errors else {"field": "body", "message": "Invalid request."}
    return problem_response(
        status=422,
        detail=f"{first['field']}: {first['message']}",
        field=first["field"],
        errors=errors,
    )


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    has_credentials = bool(request.headers.get("Authorization"))
    return problem_response(
        status=401,
        code="invalid_api_key" if has_credentials else "authentication_required",
        detail=(
            "That API key is malformed, unknown, revoked or expired."
            if has_credentials
            else "Send an API key: `Authorization: Bearer <key>`."
        ),
        headers={
            "WWW-Authenticate": WWW_AUTHENTICATE
            + (', error="invalid_token"' if has_credentials else "")
        },
    )


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(status=404, detail="Not found.")


@api.exception_handler(Exception)
def unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return problem_response(
        status=500, detail="Something went wrong on our side; it has been logged."
    )


class RateLimitOut(Schema):
    limit: int = Field(description="Calls allowed per window for this key.")
    window_seconds: int
    policy: str = Field(description="As in the `RateLimit-Policy` header: `600;w=60`.")


class MeOut(Schema):
    kind: str = Field(description="`supplier` or `retailer`.")
    organisation_id: int
    name: str
    key_prefix: str | None = Field(description="The key's first characters; null for a session.")
    scopes: list[str] | None = Field(
        description="What the key may do; null for a dashboard session (its role decides)."
    )
    expires_at: datetime | None = Field(description="When the key stops working; null: never.")
    rate_limit: RateLimitOut

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "supplier",
                    "organisation_id": 7,
                    "name": "Acme Wholesale",
                    "key_prefix": "dsk_Xb3k",
                    "scopes": ["catalog:read", "stock:write", "orders:read", "orders:write"],
                    "expires_at": "2027-06-30T00:00:00Z",
                    "rate_limit": {"limit": 600, "window_seconds": 60, "policy": "600;w=60"},
                }
            ]
        }
    }


@api.get(
    "/me",
    auth=organisation_auth,
    response={200: MeOut, 401: ErrorOut, 403: ErrorOut},
    tags=["account"],
)
def me(request: ApiRequest) -> MeOut:
    """Which organisation the credentials belong to, what the key may do, until when, and its
    rate limit."""
    limit, window = rate_of(settings.API_RATE_LIMIT_PER_KEY)
    if request.supplier is not None:
        kind, organisation_id, name = (
            "supplier",
            request.supplier.pk,
            request.supplier.company_name,
        )
    else:
        assert request.retailer is not None  # noqa: S101  # the auth lets in one or the other
        kind, organisation_id, name = (
            "retailer",
            request.retailer.pk,
            request.retailer.business_name,
        )
    key = request.api_key
    return MeOut(
        kind=kind,
        organisation_id=organisation_id,
        name=name,
        key_prefix=key.prefix if key else None,
        scopes=list(key.scopes) if key else None,
        expires_at=key.expires_at if key else None,
        rate_limit=RateLimitOut(limit=limit, window_seconds=window, policy=f"{limit};w={window}"),
    )


api.add_router("/supplier", "catalog.api.supplier.router")
api.add_router("/billing", "billing.api.router")
api.add_router("/supplier/orders", "orders.api.supplier.router")
api.add_router("/supplier/shipping-rates", "suppliers.api.supplier.router")
api.add_router("/orders", "orders.api.retailer.router")
api.add_router("/cases", "orders.api.cases.router")
api.add_router("/returns", "orders.api.returns.router")
api.add_router("/supplier/returns", "orders.api.returns.supplier_router")
api.add_router("/analytics", "orders.api.analytics.router")
api.add_router("/threads", "messaging.api.router")
api.add_router("", "orders.api.scorecard.router")
api.add_router("", "retailers.api.imports.router")
api.add_router("", "retailers.api.stores.router")
api.add_router("", "retailers.api.listings.router")
api.add_router("", "retailers.api.pricing_rules.router")
api.add_router("/sync", "retailers.api.sync.router")
api.add_router("/suppliers", "retailers.api.catalog.suppliers_router")
api.add_router("/catalog", "retailers.api.catalog.catalog_router")
