from django.urls import path

from retailers import sync_views, views

app_name = "retailers"

urlpatterns = [
    path("retailer/", views.dashboard, name="dashboard"),
    path("retailer/stores/", views.stores, name="stores"),
    path("retailer/stores/shopify/connect/", views.connect_shopify, name="connect_shopify"),
    path("retailer/stores/shopify/callback/", views.shopify_callback, name="shopify_callback"),
    path(
        "retailer/stores/woocommerce/connect/",
        views.connect_woocommerce,
        name="connect_woocommerce",
    ),
    path("retailer/stores/<int:store_id>/test/", views.test_connection, name="test_connection"),
    path("retailer/stores/<int:store_id>/disconnect/", views.disconnect, name="disconnect"),
    # pricing rules
    path("retailer/pricing/", views.pricing_rules, name="pricing_rules"),
    path("retailer/pricing/new/", views.pricing_rule_edit, name="pricing_rule_new"),
    path("retailer/pricing/preview/", views.pricing_rule_preview, name="pricing_rule_preview"),
    path("retailer/pricing/<int:rule_id>/", views.pricing_rule_edit, name="pricing_rule_edit"),
    path(
        "retailer/pricing/<int:rule_id>/delete/",
        views.pricing_rule_delete,
        name="pricing_rule_delete",
    ),
    # import list and push jobs
    path("retailer/import-list/", views.import_list, name="import_list"),
    path("retailer/import-list/add/", views.import_list_add, name="import_list_add"),
    path("retailer/import-list/remove/", views.import_list_remove, name="import_list_remove"),
    path("retailer/import-list/push/", views.import_list_push, name="import_list_push"),
    path("retailer/import-list/<int:item_id>/", views.import_list_item, name="import_list_item"),
    path("retailer/imports/<int:job_id>/", views.import_job, name="import_job"),
    path(
        "retailer/imports/<int:job_id>/progress/",
        views.import_job_progress,
        name="import_job_progress",
    ),
    path("retailer/imports/<int:job_id>/retry/", views.import_job_retry, name="import_job_retry"),
    # my products and the approval queue
    path("retailer/products/", views.products, name="products"),
    path(
        "retailer/products/variants/<int:listing_variant_id>/price/",
        views.listing_price,
        name="listing_price",
    ),
    path("retailer/products/<int:listing_id>/resync/", views.listing_resync, name="listing_resync"),
    path("retailer/products/<int:listing_id>/unlist/", views.listing_unlist, name="listing_unlist"),
    path("retailer/products/<int:listing_id>/remove/", views.listing_remove, name="listing_remove"),
    path("retailer/approvals/", views.approvals, name="approvals"),
    path(
        "retailer/approvals/<int:listing_id>/accept/",
        views.approval_accept,
        name="approval_accept",
    ),
    path("retailer/sync/", sync_views.sync_status, name="sync_status"),
]
