"""The API's operation ids are the method names of clients generated from /api/v1/openapi.json.
django-ninja derives them from the module an endpoint lives in, so moving code must not change
them: an endpoint that moves pins its old id with `operation_id=`."""

from dropship.api import api

OPERATION_IDS = {
    ("get", "/api/v1/billing/invoices"): "billing_api_list_invoices",
    ("get", "/api/v1/billing/invoices/{number}"): "billing_api_get_invoice",
    ("get", "/api/v1/catalog/search"): "catalog_browse_api_catalog_search",
    ("get", "/api/v1/jobs/{job_id}"): "retailers_api_get_job",
    ("get", "/api/v1/me"): "dropship_api_me",
    ("post", "/api/v1/orders"): "orders_api_create_order",
    ("get", "/api/v1/orders/{order_id}/status"): "orders_api_order_status",
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
    ("get", "/api/v1/supplier/products"): "catalog_api_list_products",
    ("put", "/api/v1/supplier/variants/{sku}/inventory"): "catalog_api_set_variant_inventory",
    ("get", "/api/v1/suppliers"): "catalog_browse_api_list_suppliers",
    ("get", "/api/v1/suppliers/{supplier_id}/products"): "catalog_browse_api_supplier_products",
    ("get", "/api/v1/sync/status"): "retailers_sync_api_sync_status",
}


def test_every_operation_keeps_its_operation_id_when_its_code_moves():
    paths = api.get_openapi_schema()["paths"]

    found = {
        (method, path): operation["operationId"]
        for path, operations in paths.items()
        for method, operation in operations.items()
    }

    assert found == OPERATION_IDS
