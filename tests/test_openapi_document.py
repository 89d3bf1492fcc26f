"""The OpenAPI document at /api/v1/openapi.json is an interface: API clients generate code from
it. django-ninja derives an operation id from the module its endpoint lives in and a security
scheme's name from its auth class, so moving code must not change either: an endpoint that moves
pins its old id with `operation_id=`, and the auth classes in dropship/api_auth.py keep their names.
"""

import json

OPERATION_IDS = {
    ("get", "/api/v1/billing/invoices"): "billing_api_list_invoices",
    ("get", "/api/v1/billing/invoices/{number}"): "billing_api_get_invoice",
    ("get", "/api/v1/catalog/search"): "catalog_browse_api_catalog_search",
    ("get", "/api/v1/jobs/{job_id}"): "retailers_api_get_job",
    ("get", "/api/v1/me"): "dropship_api_me",
    ("post", "/api/v1/orders"): "orders_api_create_order",
    ("get", "/api/v1/orders/{order_id}/status"): "orders_api_order_status",
    ("get", "/api/v1/analytics/sales"): "analytics_api_sales",
    ("post", "/api/v1/products/import"): "retailers_api_import_products",
    ("post", "/api/v1/supplier/inventory"): "catalog_api_set_inventory_batch",
    ("get", "/api/v1/supplier/orders"): "orders_supplier_api_list_orders",
    ("get", "/api/v1/supplier/orders/{supplier_order_id}"): "orders_supplier_api_get_order",
    (
        "post",
        "/api/v1/supplier/orders/{supplier_order_id}/accept",
    ): "orders_supplier_api_accept_order",
    (
        "post",
        "/api/v1/supplier/orders/{supplier_order_id}/reject",
    ): "orders_supplier_api_reject_order",
    ("post", "/api/v1/supplier/orders/{supplier_order_id}/ship"): "orders_supplier_api_ship_order",
    (
        "post",
        "/api/v1/supplier/orders/{supplier_order_id}/delivered",
    ): "orders_supplier_api_report_delivered",
    ("get", "/api/v1/supplier/products"): "catalog_api_list_products",
    ("put", "/api/v1/supplier/variants/{sku}/inventory"): "catalog_api_set_variant_inventory",
    ("get", "/api/v1/suppliers"): "catalog_browse_api_list_suppliers",
    ("get", "/api/v1/suppliers/{supplier_id}/products"): "catalog_browse_api_supplier_products",
    ("get", "/api/v1/sync/status"): "retailers_sync_api_sync_status",
}

SECURITY_SCHEMES = {
    "ApiKeyAuth",
    "SessionOrganisationAuth",
    "SupplierKeyAuth",
    "SupplierSessionAuth",
    "RetailerKeyAuth",
    "RetailerSessionAuth",
}


def _document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_every_operation_keeps_its_operation_id_when_its_code_moves(client):
    found = {
        (method, path): operation["operationId"]
        for path, operations in _document(client)["paths"].items()
        for method, operation in operations.items()
    }

    assert found == OPERATION_IDS


def test_security_schemes_keep_the_names_clients_know_them_by(client):
    assert set(_document(client)["components"]["securitySchemes"]) == SECURITY_SCHEMES


def test_the_document_never_repeats_a_key(client):
    """Swagger UI refuses a document with a repeated key (a status declared as 404 by a route and
    "404" by the common errors serialise to the same JSON key)."""
    repeated: list[str] = []

    def no_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
        keys = [key for key, _ in pairs]
        repeated.extend(sorted({key for key in keys if keys.count(key) > 1}))
        return dict(pairs)

    response = client.get("/api/v1/openapi.json")
    json.loads(response.content, object_pairs_hook=no_repeats)

    assert response.status_code == 200
    assert repeated == []
