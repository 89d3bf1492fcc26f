from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("shopify/", views.shopify_webhook, name="shopify_webhook"),
    path("woocommerce/<uuid:public_id>/", views.woocommerce_webhook, name="woocommerce_webhook"),
    path("stripe/", views.stripe_webhook, name="stripe_webhook"),
    path("stripe/connect/", views.stripe_connect_webhook, name="stripe_connect_webhook"),
    path("tracking/", views.tracking_webhook, name="tracking_webhook"),
]
