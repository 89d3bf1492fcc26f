"""Pages anyone may open: the supplier directory and a supplier's public profile."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from suppliers import selectors
from suppliers.models import Supplier


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
        {
            "supplier": supplier,
            "shipping_rates": supplier.shipping_rates.all(),
            "products": selectors.list_public_products_of_supplier(supplier=supplier),
        },
    )
