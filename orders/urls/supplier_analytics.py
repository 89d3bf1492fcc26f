from django.urls import path

from orders.views import supplier as views

app_name = "supplier_analytics"

urlpatterns = [path("", views.analytics, name="index")]
