from django.urls import path

from orders.views import cases as views

app_name = "cases"

urlpatterns = [
    path("retailer/cases/", views.retailer_list, name="retailer_list"),
    path("retailer/cases/<int:case_id>/", views.retailer_detail, name="retailer_detail"),
    path(
        "retailer/cases/<int:case_id>/statements/",
        views.retailer_statement,
        name="retailer_statement",
    ),
    path(
        "retailer/cases/<int:case_id>/attachments/<int:attachment_id>/",
        views.retailer_attachment,
        name="retailer_attachment",
    ),
    path(
        "retailer/supplier-orders/<int:supplier_order_id>/case/",
        views.retailer_open,
        name="retailer_open",
    ),
    path("supplier/cases/", views.supplier_list, name="supplier_list"),
    path("supplier/cases/<int:case_id>/", views.supplier_detail, name="supplier_detail"),
    path(
        "supplier/cases/<int:case_id>/statements/",
        views.supplier_statement,
        name="supplier_statement",
    ),
    path(
        "supplier/cases/<int:case_id>/attachments/<int:attachment_id>/",
        views.supplier_attachment,
        name="supplier_attachment",
    ),
    path("supplier/cases/<int:case_id>/reship/", views.supplier_reship, name="supplier_reship"),
    path(
        "supplier/orders/<int:supplier_order_id>/case/",
        views.supplier_open,
        name="supplier_open",
    ),
]
