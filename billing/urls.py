from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("retailer/billing/", views.retailer_billing, name="retailer"),
    path("retailer/billing/card/", views.start_card_setup, name="card_setup"),
    path("retailer/billing/card/done/", views.card_setup_done, name="card_done"),
    path("retailer/billing/retry/", views.retry_payments, name="retry_payments"),
    path("retailer/billing/invoices/<str:number>.pdf", views.invoice_pdf, name="invoice_pdf"),
    path("retailer/billing/invoices/<str:number>/", views.invoice_detail, name="invoice"),
    path("supplier/billing/", views.supplier_billing, name="supplier"),
    path("supplier/billing/connect/", views.start_connect, name="connect"),
    path("supplier/billing/connect/return/", views.connect_return, name="connect_return"),
    path("supplier/billing/connect/refresh/", views.connect_refresh, name="connect_refresh"),
]
