"""The OpenAPI document is an interface API clients generate code from: moving a router's module
must not rename its operations or security schemes (django-ninja derives both from code names)."""

OPERATION_IDS = {
    ("get", "/api/v1/billing/invoices"): "billing_api_list_invoices",
    ("get", "/api/v1/billing/invoices/{number}"): "billing_api_get_invoice",
    ("get", "/api/v1/catalog/search"): "catalog_browse_api_catalog_search",
    ("get", "/api/v1/jobs/{job_id}"): "retailers_api_get_job",
    ("get", "/api/v1/me"): "dropship_api_me",
    ("get", "/api/v1/orders/{order_id}/status"): "orders_api_order_status",
    ("get", "/api/v1/supplier/orders"): "orders_supplier_api_list_orders",
    ("get", "/api/v1/supplier/orders/{supplier_order_id}"): "orders_supplier_api_get_order",
    ("get", "/api/v1/supplier/products"): "catalog_api_list_products",
    ("get", "/api/v1/suppliers"): "catalog_browse_api_list_suppliers",
    ("get", "/api/v1/suppliers/{supplier_id}/products"): "catalog_browse_api_supplier_products",
    ("get", "/api/v1/sync/status"): "retailers_sync_api_sync_status",
    ("post", "/api/v1/orders"): "orders_api_create_order",
    ("post", "/api/v1/products/import"): "retailers_api_import_products",
    ("post", "/api/v1/supplier/inventory"): "catalog_api_set_inventory_batch",
    (
        "post",
        "/api/v1/supplier/orders/{supplier_order_id}/accept",
    ): "orders_supplier_api_accept_order",
    (
        "post",
        "/api/v1/supplier/orders/{supplier_order_id}/reject",
    ): "orders_supplier_api_reject_order",
    ("post", "/api/v1/supplier/orders/{supplier_order_id}/ship"): "orders_supplier_api_ship_order",
    ("put", "/api/v1/supplier/variants/{sku}/inventory"): "catalog_api_set_variant_inventory",
}


def test_operation_ids_and_security_schemes_stay_as_clients_know_them(client):
    document = client.get("/api/v1/openapi.json").json()

    operation_ids = {
        (method, path): operation["operationId"]
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    assert operation_ids == OPERATION_IDS
    assert set(document["components"]["securitySchemes"]) == {
        "ApiKeyAuth",
        "SessionOrganisationAuth",
        "SupplierKeyAuth",
        "SupplierSessionAuth",
        "RetailerKeyAuth",
        "RetailerSessionAuth",
    }
