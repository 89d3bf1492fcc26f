from django.urls import path

from retailers import views

app_name = "retailers"

urlpatterns = [
    path("retailer/", views.dashboard, name="dashboard"),
]
