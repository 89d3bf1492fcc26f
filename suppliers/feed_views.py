"""The supplier's inventory feed page: set the URL, format and columns, test it, see its health."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from catalog.services.stock import set_stock_buffer
from dropship.accounts.access import SupplierRequest, supplier_required
from dropship.core.errors import DomainError
from suppliers import feeds
from suppliers.models import SupplierFeed


class FeedForm(forms.Form):
    url = forms.URLField(
        label="Feed address",
        max_length=1000,
        assume_scheme="https",
        help_text="A CSV or JSON file we fetch every 5 minutes, e.g. https://example.com/stock.csv",
    )
    format = forms.ChoiceField(label="Format", choices=SupplierFeed.Format.choices)
    sku_column = forms.CharField(
        label="SKU column",
        required=False,
        max_length=100,
        help_text="The column (or JSON key) holding the SKU. Empty: found by its header.",
    )
    stock_column = forms.CharField(
        label="Stock column",
        required=False,
        max_length=100,
        help_text="The column (or JSON key) holding the quantity. Empty: found by its header.",
    )
    is_enabled = forms.BooleanField(label="Poll this feed", required=False, initial=True)


class BufferForm(forms.Form):
    stock_buffer_percent = forms.IntegerField(
        label="Share of available stock shown to retailers (%)",
        min_value=1,
        max_value=100,
        help_text="e.g. 90: with 10 available, stores show 9, keeping a margin for stock you "
        "sell elsewhere. Every store listing is updated within a minute.",
    )


@supplier_required
@require_http_methods(["GET", "POST"])
def feed_settings(request: SupplierRequest) -> HttpResponse:
    supplier = request.supplier
    feed = SupplierFeed.objects.filter(supplier=supplier).first()
    preview = None
    status = 200
    buffer_form = BufferForm(initial={"stock_buffer_percent": supplier.stock_buffer_percent})
    if request.method == "POST" and "buffer" in request.POST:
        buffer_form = BufferForm(request.POST)
        if buffer_form.is_valid():
            set_stock_buffer(
                supplier=supplier,
                percent=buffer_form.cleaned_data["stock_buffer_percent"],
                actor=request.user,
            )
            messages.success(request, "Stock buffer saved; your listings are being updated.")
            return redirect("suppliers:feed")
        status = 400
        form = FeedForm(
            initial={"url": feed.url, "format": feed.format, "is_enabled": feed.is_enabled}
            if feed
            else {"is_enabled": True, "format": SupplierFeed.Format.CSV}
        )
    elif request.method == "POST":
        form = FeedForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                feed = feeds.save_feed(
                    supplier=supplier,
                    url=data["url"],
                    format=data["format"],
                    mapping={},
                    is_enabled=data["is_enabled"],
                )
                if data["sku_column"] or data["stock_column"] or "test" in request.POST:
                    preview = feeds.preview_feed(
                        feed=feed, sku_column=data["sku_column"], stock_column=data["stock_column"]
                    )
                if "test" in request.POST and preview is not None:
                    messages.success(
                        request,
                        f"The feed works: {preview.rows:,} rows, {len(preview.quantities):,} "
                        f"usable, {len(preview.rejected):,} rejected. Nothing was applied yet.",
                    )
                else:
                    messages.success(request, "Feed saved. We fetch it within a minute.")
                    return redirect("suppliers:feed")
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                status = 400
        else:
            status = 400
    else:
        initial = {"is_enabled": True, "format": SupplierFeed.Format.CSV}
        if feed:
            initial = {"url": feed.url, "format": feed.format, "is_enabled": feed.is_enabled}
        form = FeedForm(initial=initial)
    return render(
        request,
        "suppliers/feed.html",
        {"form": form, "feed": feed, "preview": preview, "buffer_form": buffer_form},
        status=status,
    )
