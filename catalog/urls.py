from django.urls import path

from catalog import browse_views, views

app_name = "catalog"

urlpatterns = [
    path("supplier/catalog/", views.product_list, name="product_list"),
    path("supplier/catalog/bulk/", views.product_bulk, name="product_bulk"),
    path("supplier/catalog/new/", views.product_create, name="product_create"),
    path("supplier/catalog/<int:product_id>/", views.product_edit, name="product_edit"),
    path(
        "supplier/catalog/<int:product_id>/variants/new/",
        views.variant_create,
        name="variant_create",
    ),
    path("supplier/catalog/<int:product_id>/images/", views.image_upload, name="image_upload"),
    path("supplier/catalog/images/<int:image_id>/delete/", views.image_delete, name="image_delete"),
    path("supplier/catalog/variants/<int:variant_id>/", views.variant_edit, name="variant_edit"),
    path(
        "supplier/catalog/variants/<int:variant_id>/price/",
        views.variant_price,
        name="variant_price",
    ),
    path(
        "supplier/catalog/variants/<int:variant_id>/stock/",
        views.variant_stock,
        name="variant_stock",
    ),
    path(
        "supplier/catalog/variants/<int:variant_id>/history/",
        views.variant_history,
        name="variant_history",
    ),
    path("supplier/imports/", views.import_list, name="import_list"),
    path("supplier/imports/template.csv", views.import_template, name="import_template"),
    path("supplier/imports/<int:job_id>/", views.import_detail, name="import_detail"),
    path("supplier/imports/<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("catalog/", browse_views.catalog_search, name="browse"),
    path("catalog/<int:product_id>/", browse_views.catalog_product, name="browse_product"),
]
