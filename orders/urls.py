from django.urls import path

from orders import retailer_views

app_name = "orders"

urlpatterns = [
    path("retailer/orders/", retailer_views.order_list, name="retailer_list"),
    path("retailer/orders/<int:order_id>/", retailer_views.order_detail, name="retailer_detail"),
    path(
        "retailer/orders/<int:order_id>/items/<int:item_id>/wait/",
        retailer_views.item_wait,
        name="retailer_item_wait",
    ),
    path(
        "retailer/orders/<int:order_id>/items/<int:item_id>/substitute/",
        retailer_views.item_substitute,
        name="retailer_item_substitute",
    ),
    path(
        "retailer/orders/<int:order_id>/items/<int:item_id>/cancel/",
        retailer_views.item_cancel,
        name="retailer_item_cancel",
    ),
]
