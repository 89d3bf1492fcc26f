from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from catalog.models import Product
from suppliers.models import Supplier


def home(request: HttpRequest) -> HttpResponse:
    figures = Supplier.objects.filter(status=Supplier.Status.ACTIVE).aggregate(
        suppliers=Count("id", distinct=True),
        products=Count("products", filter=Q(products__status=Product.Status.ACTIVE), distinct=True),
    )
    return render(request, "home.html", {"figures": figures})


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
