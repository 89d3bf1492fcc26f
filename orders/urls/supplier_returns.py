from django.urls import path

from orders.views import supplier as views

app_name = "supplier_returns"

urlpatterns = [
    path("", views.return_list, name="list"),
    path("<int:return_id>/", views.return_detail, name="detail"),
    path("<int:return_id>/files/label/", views.return_file, {"kind": "label"}, name="label"),
    path(
        "<int:return_id>/files/photos/<int:file_id>/",
        views.return_file,
        {"kind": "photo"},
        name="photo",
    ),
    path("<int:return_id>/<slug:step>/", views.return_step, name="step"),
]
