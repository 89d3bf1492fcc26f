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
    ("get", "/api/v1/jobs"): "retailers_api_list_jobs",
    ("get", "/api/v1/jobs/{job_id}"): "retailers_api_get_job",
    ("get", "/api/v1/listings"): "retailers_api_list_listings",
    ("patch", "/api/v1/listings/{listing_id}"): "retailers_api_update_listing",
    ("post", "/api/v1/listings/{listing_id}/unlist"): "retailers_api_unlist_listing",
    ("post", "/api/v1/listings/{listing_id}/resync"): "retailers_api_resync_listing",
    ("get", "/api/v1/cases"): "orders_cases_api_list_cases",
    ("post", "/api/v1/cases"): "orders_cases_api_open_case",
    ("get", "/api/v1/cases/{case_id}"): "orders_cases_api_get_case",
    ("post", "/api/v1/cases/{case_id}/statements"): "orders_cases_api_add_statement",
    ("get", "/api/v1/threads"): "messaging_api_list_threads",
    ("post", "/api/v1/threads"): "messaging_api_start_thread",
    ("get", "/api/v1/threads/{thread_id}"): "messaging_api_get_thread",
    ("post", "/api/v1/threads/{thread_id}/messages"): "messaging_api_post_message",
    ("post", "/api/v1/threads/{thread_id}/read"): "messaging_api_mark_read",
    ("get", "/api/v1/threads/{thread_id}/attachments/{attachment_id}"): (
        "messaging_api_get_attachment"
    ),
    ("get", "/api/v1/orders"): "orders_api_list_orders",
    ("get", "/api/v1/orders/{order_id}"): "orders_api_get_order",
    ("get", "/api/v1/pricing-rules"): "retailers_api_list_pricing_rules",
    ("post", "/api/v1/pricing-rules"): "retailers_api_create_pricing_rule",
    ("get", "/api/v1/pricing-rules/{rule_id}"): "retailers_api_get_pricing_rule",
    ("put", "/api/v1/pricing-rules/{rule_id}"): "retailers_api_replace_pricing_rule",
    ("delete", "/api/v1/pricing-rules/{rule_id}"): "retailers_api_delete_pricing_rule",
    ("get", "/api/v1/stores"): "retailers_api_list_stores",
    ("post", "/api/v1/stores"): "retailers_api_create_store",
    ("get", "/api/v1/stores/{store_id}"): "retailers_api_get_store",
    ("post", "/api/v1/stores/shopify-install"): "retailers_api_shopify_install",
    ("post", "/api/v1/stores/{store_id}/disconnect"): "retailers_api_disconnect_store",
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
    ("post", "/api/v1/supplier/products"): "catalog_api_create_product",
    ("get", "/api/v1/supplier/products/{product_id}"): "catalog_api_get_product",
    ("patch", "/api/v1/supplier/products/{product_id}"): "catalog_api_update_product",
    ("post", "/api/v1/supplier/products/{product_id}/archive"): "catalog_api_archive_product",
    ("post", "/api/v1/supplier/products/{product_id}/variants"): "catalog_api_create_variant",
    ("post", "/api/v1/supplier/products/{product_id}/images"): "catalog_api_add_product_image",
    ("patch", "/api/v1/supplier/variants/{variant_id}"): "catalog_api_update_variant",
    ("post", "/api/v1/supplier/variants/bulk-upsert"): "catalog_api_bulk_upsert_variants",
    (
        "get",
        "/api/v1/supplier/orders/{supplier_order_id}/packing-slip",
    ): "orders_supplier_api_packing_slip",
    ("get", "/api/v1/supplier/shipping-rates"): "suppliers_api_get_shipping_rates",
    ("put", "/api/v1/supplier/shipping-rates"): "suppliers_api_set_shipping_rates",
    ("put", "/api/v1/supplier/variants/{sku}/inventory"): "catalog_api_set_variant_inventory",
    ("get", "/api/v1/suppliers"): "catalog_browse_api_list_suppliers",
    ("get", "/api/v1/suppliers/{supplier_id}/products"): "catalog_browse_api_supplier_products",
    ("get", "/api/v1/suppliers/{supplier_id}/scorecard"): "orders_api_supplier_scorecard",
    ("get", "/api/v1/sync/status"): "retailers_sync_api_sync_status",
    ("get", "/api/v1/returns"): "returns_api_list_returns",
    ("post", "/api/v1/returns"): "returns_api_open_return",
    ("get", "/api/v1/returns/{return_id}"): "returns_api_get_return",
    ("post", "/api/v1/returns/{return_id}/tracking"): "returns_api_submit_tracking",
    ("post", "/api/v1/returns/{return_id}/accept-offer"): "returns_api_accept_offer",
    ("post", "/api/v1/returns/{return_id}/refuse-offer"): "returns_api_refuse_offer",
    ("get", "/api/v1/supplier/returns"): "returns_supplier_api_list_returns",
    ("get", "/api/v1/supplier/returns/{return_id}"): "returns_supplier_api_get_return",
    ("post", "/api/v1/supplier/returns/{return_id}/approve"): "returns_supplier_api_approve",
    ("post", "/api/v1/supplier/returns/{return_id}/decline"): "returns_supplier_api_decline",
    ("post", "/api/v1/supplier/returns/{return_id}/offer"): "returns_supplier_api_offer",
    ("post", "/api/v1/supplier/returns/{return_id}/receive"): "returns_supplier_api_receive",
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


def test_links_name_existing_operations_and_their_parameters(client):
    document = _document(client)
    operations = {
        operation["operationId"]: operation
        for path_item in document["paths"].values()
        for operation in path_item.values()
    }

    links = [
        (path, method, status, link)
        for path, path_item in document["paths"].items()
        for method, operation in path_item.items()
        for status, response in operation["responses"].items()
        for link in response.get("links", {}).values()
    ]

    assert len(links) >= 8
    for path, method, status, link in links:
        target = operations[link["operationId"]]
        names = {parameter["name"] for parameter in target.get("parameters", [])}
        assert set(link["parameters"]) <= names, (path, method, status, link)


def test_every_write_documents_the_idempotency_key_and_its_answers(client):
    document = _document(client)

    for path, path_item in document["paths"].items():
        for method, operation in path_item.items():
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            is_write = method in {"post", "put", "patch", "delete"}
            assert ("Idempotency-Key" in headers) is is_write, (method, path)
            if is_write:
                assert {"409", "422"} <= set(operation["responses"]), (method, path)
