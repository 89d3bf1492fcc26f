from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("", views.privacy_settings, name="settings"),
    path("exports/", views.request_export, name="request_export"),
    path("exports/<uuid:public_id>/progress/", views.export_progress, name="export_progress"),
    path("exports/<uuid:public_id>/download/", views.download_export, name="download"),
    path("delete-account/", views.delete_account, name="delete_account"),
    path("delete-organisation/", views.delete_organisation, name="delete_organisation"),
]
