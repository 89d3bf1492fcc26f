from django.urls import path

from orders.views import retailer as views

app_name = "orders"

urlpatterns = [
    path("retailer/analytics/", views.analytics, name="retailer_analytics"),
    path("retailer/orders/", views.order_list, name="retailer_list"),
    path(
        "retailer/packing-slip/preview/",
        views.packing_slip_preview,
        name="retailer_packing_slip_preview",
    ),
    path("retailer/orders/manual/", views.manual_order, name="retailer_manual"),
    path(
        "retailer/orders/manual/store/",
        views.manual_orders_store,
        name="retailer_manual_store",
    ),
    path("retailer/orders/<int:order_id>/", views.order_detail, name="retailer_detail"),
    path(
        "retailer/orders/<int:order_id>/address/",
        views.order_address,
        name="retailer_address",
    ),
    path(
        "retailer/orders/<int:order_id>/review/release/",
        views.order_review_release,
        name="retailer_review_release",
    ),
    path(
        "retailer/orders/<int:order_id>/review/cancel/",
        views.order_review_cancel,
        name="retailer_review_cancel",
    ),
    path(
        "retailer/orders/<int:order_id>/supplier-orders/<int:supplier_order_id>/return/",
        views.return_start,
        name="retailer_return_start",
    ),
    path("retailer/returns/", views.return_list, name="retailer_returns"),
    path("retailer/returns/<int:return_id>/", views.return_detail, name="retailer_return"),
    path(
        "retailer/returns/<int:return_id>/<slug:step>/",
        views.return_step,
        name="retailer_return_step",
    ),
    path(
        "retailer/returns/<int:return_id>/files/label/",
        views.return_file,
        {"kind": "label"},
        name="retailer_return_label",
    ),
    path(
        "retailer/returns/<int:return_id>/files/photos/<int:file_id>/",
        views.return_file,
        {"kind": "photo"},
        name="retailer_return_photo",
    ),
    path("retailer/settings/fraud-checks/", views.fraud_rules, name="retailer_fraud_rules"),
    path(
        "retailer/orders/<int:order_id>/items/<int:item_id>/wait/",
        views.item_wait,
        name="retailer_item_wait",
    ),
    path(
        "retailer/orders/<int:order_id>/items/<int:item_id>/substitute/",
        views.item_substitute,
        name="retailer_item_substitute",
    ),
    path(
        "retailer/payments/<int:supplier_order_id>/confirm/",
        views.payment_confirm,
        name="retailer_confirm_payment",
    ),
    path(
        "retailer/payments/<int:supplier_order_id>/confirmed/",
        views.payment_confirmed,
        name="retailer_payment_confirmed",
    ),
    path(
        "retailer/orders/<int:order_id>/items/<int:item_id>/cancel/",
        views.item_cancel,
        name="retailer_item_cancel",
    ),
]
