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
    path("retailer/sync/", sync_views.sync_status, name="sync_status"),
]
