from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dropship.accounts.access import supplier_required
from dropship.accounts.selectors import list_recent_notifications
from suppliers import selectors
from suppliers.models import Supplier


@supplier_required
def dashboard(request: HttpRequest) -> HttpResponse:
    supplier = request.supplier
    return render(
        request,
        "suppliers/dashboard.html",
        {
            "supplier": supplier,
            "stats": selectors.get_supplier_dashboard(supplier=supplier),
            "notifications": list_recent_notifications(organisation=supplier),
        },
    )


def directory(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:200]
    business_type = request.GET.get("type", "")
    if business_type not in Supplier.BusinessType.values:
        business_type = ""
    suppliers = selectors.list_public_suppliers(search=search, business_type=business_type)
    return render(
        request,
        "suppliers/directory.html",
        {
            "suppliers": suppliers,
            "q": search,
            "type": business_type,
            "business_types": Supplier.BusinessType.choices,
        },
    )


def profile(request: HttpRequest, slug: str) -> HttpResponse:
    supplier = selectors.get_public_supplier(slug=slug)
    return render(
        request,
        "suppliers/profile.html",
        {"supplier": supplier, "shipping_rates": supplier.shipping_rates.all()},
    )
