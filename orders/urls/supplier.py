from django.urls import path

from orders.views import supplier as views

app_name = "supplier_orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("bulk-ship/", views.bulk_ship, name="bulk_ship"),
    path("<int:supplier_order_id>/", views.order_detail, name="detail"),
    path("<int:supplier_order_id>/accept/", views.order_accept, name="accept"),
    path("<int:supplier_order_id>/packing-slip/", views.packing_slip, name="packing_slip"),
    path("<int:supplier_order_id>/reject/", views.order_reject, name="reject"),
    path("<int:supplier_order_id>/ship/", views.order_ship, name="ship"),
    path(
        "<int:supplier_order_id>/shipments/<int:shipment_id>/retry/",
        views.shipment_retry,
        name="shipment_retry",
    ),
]
