from django.urls import path

from suppliers import views

app_name = "suppliers"

urlpatterns = [
    path("supplier/", views.dashboard, name="dashboard"),
    path("suppliers/", views.directory, name="directory"),
    path("suppliers/<slug:slug>/", views.profile, name="profile"),
]
