from django.urls import path

from billing.views import plans, retailer, supplier

app_name = "billing"

urlpatterns = [
    path("pricing/", plans.pricing, name="pricing"),
    path("retailer/billing/plan/checkout/", plans.start_plan_checkout, name="plan_checkout"),
    path("retailer/billing/plan/done/", plans.plan_checkout_done, name="plan_done"),
    path("retailer/billing/plan/change/<str:plan>/", plans.change_plan, name="plan_change"),
    path("retailer/billing/plan/cancel/", plans.cancel_plan, name="plan_cancel"),
    path("retailer/billing/portal/", plans.billing_portal, name="portal"),
    path("retailer/billing/", retailer.retailer_billing, name="retailer"),
    path("retailer/billing/card/", retailer.start_card_setup, name="card_setup"),
    path("retailer/billing/card/done/", retailer.card_setup_done, name="card_done"),
    path("retailer/billing/retry/", retailer.retry_payments, name="retry_payments"),
    path("retailer/billing/invoices/<str:number>.pdf", retailer.invoice_pdf, name="invoice_pdf"),
    path("retailer/billing/invoices/<str:number>/", retailer.invoice_detail, name="invoice"),
    path("supplier/billing/", supplier.supplier_billing, name="supplier"),
    path("supplier/billing/connect/", supplier.start_connect, name="connect"),
    path("supplier/billing/connect/return/", supplier.connect_return, name="connect_return"),
    path("supplier/billing/connect/refresh/", supplier.connect_refresh, name="connect_refresh"),
]
