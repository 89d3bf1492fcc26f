from django.urls import path

from catalog.views import supplier

app_name = "catalog"

urlpatterns = [
    path("supplier/catalog/", supplier.product_list, name="product_list"),
    path("supplier/catalog/bulk/", supplier.product_bulk, name="product_bulk"),
    path("supplier/catalog/new/", supplier.product_create, name="product_create"),
    path("supplier/catalog/<int:product_id>/", supplier.product_edit, name="product_edit"),
    path(
        "supplier/catalog/<int:product_id>/variants/new/",
        supplier.variant_create,
        name="variant_create",
    ),
    path("supplier/catalog/<int:product_id>/images/", supplier.image_upload, name="image_upload"),
    path(
        "supplier/catalog/images/<int:image_id>/delete/", supplier.image_delete, name="image_delete"
    ),
    path("supplier/catalog/variants/<int:variant_id>/", supplier.variant_edit, name="variant_edit"),
    path(
        "supplier/catalog/variants/<int:variant_id>/price/",
        supplier.variant_price,
        name="variant_price",
    ),
    path(
        "supplier/catalog/variants/<int:variant_id>/stock/",
        supplier.variant_stock,
        name="variant_stock",
    ),
    path(
        "supplier/catalog/variants/<int:variant_id>/history/",
        supplier.variant_history,
        name="variant_history",
    ),
    path("supplier/imports/", supplier.import_list, name="import_list"),
    path("supplier/imports/template.csv", supplier.import_template, name="import_template"),
    path("supplier/imports/<int:job_id>/", supplier.import_detail, name="import_detail"),
    path(
        "supplier/imports/<int:job_id>/progress/", supplier.import_progress, name="import_progress"
    ),
]
