from django.urls import path

from retailers.views import (
    branding,
    catalog,
    dashboard,
    imports,
    listings,
    notices,
    pricing,
    settings,
    shopify_install,
    stores,
    sync,
)

app_name = "retailers"

# The retailer's priced view of the catalog, public for browsing. It keeps its `catalog:` URL
# names: dropship/urls.py includes these under the catalog namespace.
catalog_browse_urlpatterns = [
    path("catalog/", catalog.catalog_search, name="browse"),
    path("catalog/<int:product_id>/", catalog.catalog_product, name="browse_product"),
]

urlpatterns = [
    path("retailer/", dashboard.dashboard, name="dashboard"),
    path("retailer/stores/", stores.stores, name="stores"),
    path("retailer/stores/shopify/connect/", stores.connect_shopify, name="connect_shopify"),
    path("retailer/stores/shopify/callback/", stores.shopify_callback, name="shopify_callback"),
    # Installing from Shopify: the app URL and redirect URL declared in shopify.app.toml.
    path("shopify/", shopify_install.shopify_app, name="shopify_app"),
    path(
        "shopify/callback/",
        shopify_install.shopify_install_callback,
        name="shopify_install_callback",
    ),
    path(
        "retailer/stores/shopify/finish/",
        shopify_install.shopify_install_finish,
        name="shopify_install_finish",
    ),
    path(
        "retailer/stores/woocommerce/connect/",
        stores.connect_woocommerce,
        name="connect_woocommerce",
    ),
    path("retailer/stores/custom/", stores.create_custom_store, name="create_custom_store"),
    path("retailer/stores/<int:store_id>/test/", stores.test_connection, name="test_connection"),
    path("retailer/stores/<int:store_id>/disconnect/", stores.disconnect, name="disconnect"),
    path(
        "retailer/stores/<int:store_id>/manual-payments/",
        stores.manual_payments,
        name="manual_payments",
    ),
    path(
        "retailer/stores/<int:store_id>/out-of-stock/",
        stores.out_of_stock,
        name="store_out_of_stock",
    ),
    # pricing rules
    path("retailer/pricing/", pricing.pricing_rules, name="pricing_rules"),
    path("retailer/settings/", settings.retailer_settings, name="settings"),
    path(
        "retailer/settings/notifications/",
        notices.notice_preferences,
        name="notice_preferences",
    ),
    path("retailer/pricing/new/", pricing.pricing_rule_edit, name="pricing_rule_new"),
    path("retailer/pricing/preview/", pricing.pricing_rule_preview, name="pricing_rule_preview"),
    path("retailer/pricing/<int:rule_id>/", pricing.pricing_rule_edit, name="pricing_rule_edit"),
    path(
        "retailer/pricing/<int:rule_id>/delete/",
        pricing.pricing_rule_delete,
        name="pricing_rule_delete",
    ),
    # import list and push jobs
    path("retailer/import-list/", imports.import_list, name="import_list"),
    path("retailer/import-list/add/", imports.import_list_add, name="import_list_add"),
    path("retailer/import-list/remove/", imports.import_list_remove, name="import_list_remove"),
    path("retailer/import-list/push/", imports.import_list_push, name="import_list_push"),
    path("retailer/import-list/<int:item_id>/", imports.import_list_item, name="import_list_item"),
    path("retailer/imports/<int:job_id>/", imports.import_job, name="import_job"),
    path(
        "retailer/imports/<int:job_id>/progress/",
        imports.import_job_progress,
        name="import_job_progress",
    ),
    path("retailer/imports/<int:job_id>/retry/", imports.import_job_retry, name="import_job_retry"),
    # my products and the approval queue
    path("retailer/products/", listings.products, name="products"),
    path(
        "retailer/products/variants/<int:listing_variant_id>/price/",
        listings.listing_price,
        name="listing_price",
    ),
    path(
        "retailer/products/<int:listing_id>/resync/", listings.listing_resync, name="listing_resync"
    ),
    path(
        "retailer/products/<int:listing_id>/unlist/", listings.listing_unlist, name="listing_unlist"
    ),
    path(
        "retailer/products/<int:listing_id>/remove/", listings.listing_remove, name="listing_remove"
    ),
    path("retailer/approvals/", listings.approvals, name="approvals"),
    path(
        "retailer/approvals/<int:listing_id>/accept/",
        listings.approval_accept,
        name="approval_accept",
    ),
    path("retailer/sync/", sync.sync_status, name="sync_status"),
    path(
        "retailer/packing-slip/",
        branding.packing_slip_settings,
        name="packing_slip_settings",
    ),
]
