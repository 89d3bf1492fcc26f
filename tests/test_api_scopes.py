"""API key scopes and the 401 / 403 / 404 matrix: which answer a call gets for which credentials.

- 401 with `WWW-Authenticate`: missing, malformed, wrong, revoked or expired key;
- 403: a valid key without the scope the call needs (`insufficient_scope`, naming it), or of the
  other kind of organisation;
- 404: another organisation's object, exactly like a missing one.
"""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from dropship.accounts.models import ALL_SCOPES, ApiKey
from dropship.accounts.services import create_api_key, revoke_api_key
from dropship.api import api
from dropship.api_scopes import AREA_BY_PREFIX, area_for_path, required_scope
from tests import factories
from tests.problems import problem

pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/supplier/orders"


def _bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_every_operation_in_the_openapi_document_has_a_scope_area():
    document = api.get_openapi_schema()

    unmapped = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if area_for_path(path.replace("{", "x").replace("}", "")) is None
    ]

    assert unmapped == []


def test_the_scope_needed_follows_the_method_and_the_longest_prefix():
    assert required_scope(method="GET", path="/api/v1/supplier/orders/7") == "orders:read"
    assert required_scope(method="POST", path="/api/v1/supplier/orders/7/ship") == "orders:write"
    assert required_scope(method="HEAD", path="/api/v1/supplier/products") == "catalog:read"
    assert required_scope(method="PUT", path="/api/v1/supplier/variants/A/inventory") == (
        "stock:write"
    )
    assert required_scope(method="PUT", path="/api/v1/supplier/variants/A/B/inventory") == (
        "stock:write"  # a SKU may hold a slash
    )
    assert required_scope(method="PATCH", path="/api/v1/supplier/variants/7") == "catalog:write"
    assert required_scope(method="POST", path="/api/v1/supplier/variants/bulk-upsert") == (
        "catalog:write"
    )
    assert required_scope(method="GET", path="/api/v1/suppliers/3/products") == "catalog:read"
    assert required_scope(method="GET", path="/api/v1/me") == ""
    # a segment boundary, not a string prefix: /ordersx is no part of /orders
    assert required_scope(method="GET", path="/api/v1/ordersx") is None
    assert required_scope(method="GET", path="/api/v1/unmapped") is None
    assert set(AREA_BY_PREFIX.values()) - {""} <= {s.split(":")[0] for s in ALL_SCOPES}


def test_a_key_without_the_scope_answers_403_naming_the_scope_and_nothing_changes(client):
    supplier = factories.SupplierFactory()
    supplier_order = factories.make_supplier_order(supplier=supplier)
    _, reader = create_api_key(
        organisation=supplier, name="Reports", created_by=None, scopes=["orders:read"]
    )

    listed = client.get(ORDERS, **_bearer(reader))
    accept = client.post(f"{ORDERS}/{supplier_order.pk}/accept", **_bearer(reader))
    stock = client.get("/api/v1/supplier/products", **_bearer(reader))

    assert listed.status_code == 200
    assert accept.status_code == 403
    assert accept.json()["code"] == "insufficient_scope"
    assert problem(accept)["detail"].startswith("This key lacks the scope orders:write")
    assert accept["WWW-Authenticate"] == (
        'Bearer realm="Dropship API", error="insufficient_scope", scope="orders:write"'
    )
    assert stock.status_code == 403
    assert "catalog:read" in stock.json()["detail"]
    supplier_order.refresh_from_db()
    assert supplier_order.status == "SENT"


def test_write_does_not_include_read(client):
    supplier = factories.SupplierFactory()
    _, writer = create_api_key(
        organisation=supplier, name="WMS", created_by=None, scopes=["stock:write"]
    )

    pushed = client.post(
        "/api/v1/supplier/inventory",
        {"items": [{"sku": "NONE", "quantity": 1}]},
        content_type="application/json",
        **_bearer(writer),
    )
    listed = client.get(ORDERS, **_bearer(writer))

    assert pushed.status_code == 200
    assert listed.status_code == 403


def test_a_public_operation_that_shows_a_key_more_needs_its_scope(client):
    """Catalog search answers visitors without prices and a retailer's key with them: the key
    must hold catalog:read to be used there."""
    retailer = factories.RetailerFactory()
    _, no_catalog = create_api_key(
        organisation=retailer, name="Orders", created_by=None, scopes=["orders:write"]
    )
    _, with_catalog = create_api_key(
        organisation=retailer, name="Browse", created_by=None, scopes=["catalog:read"]
    )

    refused = client.get("/api/v1/catalog/search", **_bearer(no_catalog))
    allowed = client.get("/api/v1/catalog/search", **_bearer(with_catalog))
    anonymous = client.get("/api/v1/catalog/search")

    assert (refused.status_code, allowed.status_code, anonymous.status_code) == (403, 200, 200)
    assert refused.json()["code"] == "insufficient_scope"


def test_me_answers_any_valid_key_with_its_scopes_expiry_and_rate_limit(client, settings):
    settings.API_RATE_LIMIT_PER_KEY = "120/m"
    supplier = factories.SupplierFactory(company_name="Acme Wholesale")
    expires = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    key, secret = create_api_key(
        organisation=supplier,
        name="Reports",
        created_by=None,
        scopes=["orders:read", "catalog:read"],
        expires_at=expires,
    )

    body = client.get("/api/v1/me", **_bearer(secret)).json()

    assert datetime.fromisoformat(body.pop("expires_at")) == expires.replace(microsecond=0)
    assert body == {
        "kind": "supplier",
        "organisation_id": supplier.pk,
        "name": "Acme Wholesale",
        "key_prefix": key.prefix,
        "scopes": ["catalog:read", "orders:read"],
        "rate_limit": {"limit": 120, "window_seconds": 60, "policy": "120;w=60"},
    }


def test_dashboard_session_calls_keep_role_based_rights_without_scopes(supplier_client):
    supplier_order = factories.make_supplier_order(supplier=supplier_client.supplier)

    listed = supplier_client.get(ORDERS)
    me = supplier_client.get("/api/v1/me").json()

    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()["items"]] == [supplier_order.pk]
    assert (me["scopes"], me["key_prefix"], me["expires_at"]) == (None, None, None)


# --- the matrix ------------------------------------------------------------------------------------
def _expired_key(supplier) -> str:
    key, secret = create_api_key(
        organisation=supplier,
        name="Old",
        created_by=None,
        expires_at=timezone.now() + timedelta(minutes=1),
    )
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return secret


def _revoked_key(supplier) -> str:
    key, secret = create_api_key(organisation=supplier, name="Gone", created_by=None)
    revoke_api_key(api_key=key)
    return secret


def test_401_403_404_matrix(client):
    supplier = factories.SupplierFactory()
    mine = factories.make_supplier_order(supplier=supplier)
    theirs = factories.make_supplier_order()
    _, valid = create_api_key(organisation=supplier, name="ERP", created_by=None)
    _, read_only = create_api_key(
        organisation=supplier, name="Read", created_by=None, scopes=["orders:read"]
    )
    _, retailer_key = create_api_key(
        organisation=factories.RetailerFactory(), name="Shop", created_by=None
    )
    credentials = {
        "missing": {},
        "malformed": {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
        "wrong": _bearer(valid[:-2] + ("aa" if not valid.endswith("aa") else "bb")),
        "revoked": _bearer(_revoked_key(supplier)),
        "expired": _bearer(_expired_key(supplier)),
        "wrong scope": _bearer(read_only),
        "wrong kind": _bearer(retailer_key),
        "valid, theirs": _bearer(valid),
        "valid, mine": _bearer(valid),
    }

    answers = {}
    for name, headers in credentials.items():
        order = mine if name == "valid, mine" else theirs
        if name in {"wrong scope", "wrong kind"}:
            order = mine
        answers[name] = client.post(f"{ORDERS}/{order.pk}/accept", **headers)

    assert {name: r.status_code for name, r in answers.items()} == {
        "missing": 401,
        "malformed": 401,
        "wrong": 401,
        "revoked": 401,
        "expired": 401,
        "wrong scope": 403,
        "wrong kind": 403,
        "valid, theirs": 404,
        "valid, mine": 200,
    }
    for name in ("missing", "malformed", "wrong", "revoked", "expired"):
        assert answers[name]["WWW-Authenticate"].startswith('Bearer realm="Dropship API"'), name
    assert answers["expired"].json()["code"] == "invalid_api_key"
    assert answers["wrong scope"].json()["code"] == "insufficient_scope"
    assert answers["wrong kind"].json()["code"] == "permission_denied"
    assert answers["valid, theirs"].json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.status == "SENT"
