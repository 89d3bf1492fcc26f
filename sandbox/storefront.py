"""A shopper's storefront for each sandbox shop (Shopify) or site (WooCommerce). Stdlib only.

So anyone can try the whole flow without a real store: the products the retailer imported into
the sandbox shop are listed, a checkout form (name, address, quantity) places an order in the
sandbox's own data, and the sandbox sends the real signed webhook (Shopify `orders/create` with
the X-Shopify-* headers and the app-secret HMAC; WooCommerce `order.created` with the
X-WC-Webhook-* headers and the store's webhook secret) to every webhook address registered in
it. The order's page then shows what the store knows: fulfilments and tracking once Dropship
has pushed them.

Paths, under the shop's own prefix (`/{shop domain}` on the Shopify sandbox, `/{site}` on the
WooCommerce one):
    GET  …/storefront/                    products + recent orders
    GET  …/storefront/checkout?sku=…      the checkout form
    POST …/storefront/checkout            place the order → 303 to its page
    GET  …/storefront/orders/{id}         the order, its status, fulfilments and tracking
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from sandbox.server import Delivery, Request, Response

MAX_QUANTITY = 99
MAX_FIELD = 200
COUNTRIES = {"US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany"}


def storefront_path(shop_key: str) -> str:
    return f"/{shop_key}/storefront/"


@dataclass(frozen=True)
class Item:
    sku: str
    title: str
    price: Decimal
    stock: int | None


@dataclass(frozen=True)
class Parcel:
    company: str
    number: str
    url: str
    lines: str


def _e(value: Any) -> str:
    return html.escape(str(value if value is not None else ""), quote=True)


def _page(title: str, body: str, status: int = 200) -> Response:
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; color: #1f2937; line-height: 1.5; }}
a {{ color: #1d4ed8; }} a:focus, button:focus, input:focus, select:focus {{ outline: 3px solid #93c5fd; outline-offset: 2px; }}
table {{ width: 100%; border-collapse: collapse; }} th, td {{ text-align: left; padding: .4rem; border-bottom: 1px solid #e5e7eb; }}
label {{ display: block; font-weight: 600; margin-top: .6rem; }} input, select {{ font: inherit; padding: .35rem; width: 100%; max-width: 24rem; box-sizing: border-box; }}
button {{ font: inherit; margin-top: 1rem; padding: .5rem 1.1rem; background: #1d4ed8; color: #fff; border: 0; border-radius: .3rem; cursor: pointer; }}
.error {{ color: #b91c1c; }} .note {{ background: #f3f4f6; padding: .6rem .8rem; border-radius: .3rem; }}

.visually-hidden {{ position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }}
.badge {{ display: inline-block; padding: 0 .5rem; border-radius: 1rem; background: #e5e7eb; font-size: .9rem; }}
</style></head><body>
<p class="note">Sandbox storefront — a test store for trying Dropship. No real money or parcels.</p>
{body}
</body></html>"""
    return Response.html(document, status=status)


class Storefront:
    """Shared pages; the platform adapters below read and write each sandbox's own data."""

    platform = ""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        self.deliveries: dict[str, list[Delivery]] = {}  # order id -> webhook deliveries

    # --- platform hooks ---------------------------------------------------------------------------
    def shop_name(self, key: str) -> str: ...
    def items(self, key: str) -> list[Item]: ...
    def orders(self, key: str) -> list[tuple[str, str, str]]: ...  # (id, number, status)
    def webhook_targets(self, key: str) -> list[str]: ...
    def place(
        self, key: str, *, sku: str, quantity: int, shopper: dict
    ) -> tuple[str, list[Delivery]]: ...
    def order_view(
        self, key: str, order_id: str
    ) -> tuple[dict, list[Parcel], list[str]] | None: ...

    # --- HTTP -------------------------------------------------------------------------------------
    def handle(self, request: Request, key: str, rest: list[str]) -> Response:
        base = storefront_path(key)
        if rest in ([], [""]) and request.method == "GET":
            return self._index(key, base)
        if rest == ["checkout"] and request.method == "GET":
            return self._checkout(key, base, request.query_dict.get("sku", ""), {}, [])
        if rest == ["checkout"] and request.method == "POST":
            return self._place(key, base, request.form())
        if len(rest) == 2 and rest[0] == "orders" and request.method == "GET":
            return self._order(key, base, rest[1])
        return _page("Not found", "<h1>Not found</h1>", status=404)

    def _index(self, key: str, base: str) -> Response:
        rows = "".join(
            f"<tr><td>{_e(item.title)}</td><td><code>{_e(item.sku)}</code></td>"
            f"<td>{_e(item.price)}</td><td>{'' if item.stock is None else _e(item.stock)}</td>"
            f'<td><a href="{base}checkout?sku={quote(item.sku)}">Buy<span class="visually-hidden"> {_e(item.title)}</span></a></td></tr>'
            for item in self.items(key)
        )
        products = (
            f"<table><caption>Products</caption><thead><tr><th scope='col'>Product</th><th scope='col'>SKU</th>"
            f"<th scope='col'>Price</th><th scope='col'>In stock</th><th scope='col'><span hidden>Buy</span></th></tr></thead><tbody>{rows}</tbody></table>"
            if rows
            else "<p>No products yet. Import one from Dropship (retailer → Import products) and reload.</p>"
        )
        orders = "".join(
            f'<li><a href="{base}orders/{quote(order_id)}">Order {_e(number)}</a> <span class="badge">{_e(status)}</span></li>'
            for order_id, number, status in self.orders(key)[:20]
        )
        targets = self.webhook_targets(key)
        hooks = (
            f"<p>New orders are sent to: {', '.join(_e(t) for t in targets)}</p>"
            if targets
            else '<p class="error">No webhook is registered: connect this store in Dropship first.</p>'
        )
        body = (
            f"<h1>{_e(self.shop_name(key))}</h1>{hooks}{products}"
            f"<h2>Recent orders</h2><ul>{orders or '<li>None yet.</li>'}</ul>"
        )
        return _page(self.shop_name(key), body)

    def _checkout(
        self, key: str, base: str, sku: str, values: dict, errors: list[str], status: int = 200
    ) -> Response:
        items = self.items(key)
        options = "".join(
            f'<option value="{_e(item.sku)}"{" selected" if item.sku == sku else ""}>{_e(item.title)} ({_e(item.sku)}) — {_e(item.price)}</option>'
            for item in items
        )

        def field(name: str, label: str, required: bool = True, kind: str = "text") -> str:
            return (
                f'<label for="{name}">{label}</label><input type="{kind}" id="{name}" name="{name}" '
                f'value="{_e(values.get(name, ""))}" maxlength="{MAX_FIELD}"{" required" if required else ""}>'
            )

        country = values.get("country_code", "US")
        countries = "".join(
            f'<option value="{code}"{" selected" if code == country else ""}>{name}</option>'
            for code, name in COUNTRIES.items()
        )
        problems = (
            '<div class="error" role="alert"><p>Please fix:</p><ul>'
            + "".join(f"<li>{_e(e)}</li>" for e in errors)
            + "</ul></div>"
            if errors
            else ""
        )
        body = f"""<p><a href="{base}">← {_e(self.shop_name(key))}</a></p><h1>Checkout</h1>{problems}
<form method="post" action="{base}checkout">
<label for="sku">Product</label><select id="sku" name="sku" required>{options}</select>
<label for="quantity">Quantity</label><input type="number" id="quantity" name="quantity" min="1" max="{MAX_QUANTITY}" value="{_e(values.get("quantity", "1"))}" required>
{field("first_name", "First name")}{field("last_name", "Last name")}{field("email", "Email", kind="email")}
{field("address1", "Address")}{field("address2", "Address line 2", required=False)}{field("city", "City")}
{field("province", "State / province", required=False)}{field("zip", "ZIP / postcode")}
<label for="country_code">Country</label><select id="country_code" name="country_code">{countries}</select>
<button type="submit">Place order</button></form>"""
        return _page("Checkout", body, status=status)

    def _place(self, key: str, base: str, form: dict[str, str]) -> Response:
        values = {k: " ".join(str(v).split()) for k, v in form.items()}
        errors = []
        skus = {item.sku for item in self.items(key)}
        if values.get("sku") not in skus:
            errors.append("Choose a product of this store.")
        try:
            quantity = int(values.get("quantity", ""))
        except ValueError:
            quantity = 0
        if not 1 <= quantity <= MAX_QUANTITY:
            errors.append(f"Quantity must be a whole number from 1 to {MAX_QUANTITY}.")
        for name, label in (
            ("first_name", "First name"),
            ("last_name", "Last name"),
            ("email", "Email"),
            ("address1", "Address"),
            ("city", "City"),
            ("zip", "ZIP / postcode"),
        ):
            if not values.get(name):
                errors.append(f"{label} is required.")
        for name, value in values.items():
            if len(value) > MAX_FIELD:
                errors.append(
                    f"{name.replace('_', ' ').capitalize()} is longer than {MAX_FIELD} characters."
                )
        if values.get("email") and "@" not in values["email"]:
            errors.append("Email must be an email address.")
        if values.get("country_code") not in COUNTRIES:
            errors.append("Choose a country from the list.")
        if errors:
            return self._checkout(key, base, values.get("sku", ""), values, errors, status=400)
        order_id, deliveries = self.place(key, sku=values["sku"], quantity=quantity, shopper=values)
        self.deliveries[order_id] = deliveries
        return Response(status=303, headers={"Location": f"{base}orders/{quote(order_id)}"})

    def _order(self, key: str, base: str, order_id: str) -> Response:
        view = self.order_view(key, order_id)
        if view is None:
            return _page("Not found", "<h1>No such order</h1>", status=404)
        order, parcels, notes = view
        lines = "".join(
            f"<tr><td>{_e(title)}</td><td>{_e(sku)}</td><td>{_e(qty)}</td></tr>"
            for title, sku, qty in order["lines"]
        )
        tracking = "".join(
            f'<li>{_e(p.lines)} — {_e(p.company)} <a href="{_e(p.url)}" rel="noopener noreferrer">{_e(p.number)}</a></li>'
            if p.url
            else f"<li>{_e(p.lines)} — {_e(p.company)} {_e(p.number)}</li>"
            for p in parcels
        )
        deliveries = "".join(
            f"<li>{_e(d.topic)} → {_e(d.url)}: {'answered ' + str(d.status) if d.status else _e(d.error)}</li>"
            for d in self.deliveries.get(order_id, [])
        )
        body = f"""<p><a href="{base}">← {_e(self.shop_name(key))}</a></p>
<h1>Order {_e(order["number"])}</h1>
<p>Status: <span class="badge" id="order-status">{_e(order["status"])}</span> · {_e(order["shopper"])}</p>
<table><caption>Items</caption><thead><tr><th scope="col">Product</th><th scope="col">SKU</th><th scope="col">Quantity</th></tr></thead><tbody>{lines}</tbody></table>
<h2>Shipping and tracking</h2><ul id="tracking">{tracking or "<li>Not shipped yet. Reload this page once the supplier ships.</li>"}</ul>
{"<h2>Notes from the store</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>" if notes else ""}
{"<h2>Webhooks sent</h2><ul>" + deliveries + "</ul>" if deliveries else ""}"""
        return _page(f"Order {order['number']}", body)


class ShopifyStorefront(Storefront):
    platform = "shopify"

    def shop_name(self, key: str) -> str:
        return self.sandbox.shops[key].name

    def items(self, key: str) -> list[Item]:
        shop = self.sandbox.shops[key]
        result = []
        for variant in shop.variants.values():
            product = shop.products.get(variant["product_id"]) or {}
            if not variant.get("sku") or product.get("status", "ACTIVE") != "ACTIVE":
                continue
            # Shoppers see only what is published to the Online Store sales channel.
            online_store = shop.online_store_publication_id
            if online_store not in product.get("publication_ids", [online_store]):
                continue
            title = product.get("title", "")
            if variant.get("title") and variant["title"] != "Default Title":
                title = f"{title} — {variant['title']}"
            try:
                stock = shop.quantity(variant["inventory_item_id"])
            except KeyError:
                stock = None
            result.append(Item(variant["sku"], title, _price(variant.get("price")), stock))
        return sorted(result, key=lambda item: (item.title, item.sku))

    def orders(self, key: str) -> list[tuple[str, str, str]]:
        shop = self.sandbox.shops[key]
        return [
            (str(o["legacy_id"]), o["name"], self._status(shop, o))
            for o in reversed(list(shop.orders.values()))
        ]

    def webhook_targets(self, key: str) -> list[str]:
        shop = self.sandbox.shops[key]
        return sorted(
            {w["callbackUrl"] for w in shop.webhooks.values() if w.get("topic") == "ORDERS_CREATE"}
        )

    def place(
        self, key: str, *, sku: str, quantity: int, shopper: dict
    ) -> tuple[str, list[Delivery]]:
        address = {
            "address1": shopper["address1"],
            "address2": shopper.get("address2", ""),
            "city": shopper["city"],
            "province": shopper.get("province", ""),
            "province_code": "",
            "zip": shopper["zip"],
            "country": COUNTRIES[shopper["country_code"]],
            "country_code": shopper["country_code"],
            "phone": "",
            "company": None,
        }
        order = self.sandbox.create_order(
            key,
            lines=[{"sku": sku, "quantity": quantity}],
            email=shopper["email"],
            first_name=shopper["first_name"],
            last_name=shopper["last_name"],
            address=address,
            deliver=False,
        )
        shop = self.sandbox.shops[key]
        deliveries = self.sandbox.deliver(
            key, "orders/create", self.sandbox.order_payload(shop, order)
        )
        return str(order["legacy_id"]), deliveries

    @staticmethod
    def _status(shop, order: dict) -> str:
        if order.get("cancelled_at"):
            return "Cancelled"
        total = sum(li["quantity"] for li in order["line_items"])
        shipped = sum(
            line["quantity"]
            for fid in order["fulfillment_ids"]
            for line in shop.fulfillments[fid]["line_items"]
        )
        return (
            "Unfulfilled"
            if not shipped
            else "Fulfilled"
            if shipped >= total
            else "Partially fulfilled"
        )

    def order_view(self, key: str, order_id: str):
        shop = self.sandbox.shops[key]
        order = shop.orders.get(f"gid://shopify/Order/{order_id}")
        if order is None:
            return None
        titles = {li["gid"]: li["title"] for li in order["line_items"]}
        parcels = []
        for fid in order["fulfillment_ids"]:
            fulfillment = shop.fulfillments[fid]
            lines = ", ".join(
                f"{line['quantity']} × {titles.get(line['line_item_id'], '')}"
                for line in fulfillment["line_items"]
            )
            for info in fulfillment["trackingInfo"] or [{}]:
                parcels.append(
                    Parcel(
                        info.get("company") or "",
                        info.get("number") or "",
                        info.get("url") or "",
                        lines,
                    )
                )
        summary = {
            "number": order["name"],
            "status": self._status(shop, order),
            "shopper": order["shipping_address"].get("name", ""),
            "lines": [(li["title"], li["sku"], li["quantity"]) for li in order["line_items"]],
        }
        notes = [order["note"]] if order.get("note") else []
        return summary, parcels, notes


class WooStorefront(Storefront):
    platform = "woocommerce"

    def shop_name(self, key: str) -> str:
        return self.sandbox.sites[key].name

    def items(self, key: str) -> list[Item]:
        site = self.sandbox.sites[key]
        result = []
        for product in site.products.values():
            if product.get("status") != "publish":
                continue
            if product.get("type") == "variable":
                for variation_id in product.get("variations") or []:
                    variation = site.variations.get(variation_id)
                    if variation and variation.get("sku"):
                        options = ", ".join(
                            str(a.get("option", "")) for a in variation.get("attributes") or []
                        )
                        title = f"{product['name']} — {options}" if options else product["name"]
                        result.append(
                            Item(
                                variation["sku"],
                                title,
                                _price(variation.get("price")),
                                variation.get("stock_quantity"),
                            )
                        )
            elif product.get("sku"):
                result.append(
                    Item(
                        product["sku"],
                        product["name"],
                        _price(product.get("price")),
                        product.get("stock_quantity"),
                    )
                )
        return sorted(result, key=lambda item: (item.title, item.sku))

    def orders(self, key: str) -> list[tuple[str, str, str]]:
        site = self.sandbox.sites[key]
        return [
            (str(o["id"]), o["number"], o["status"]) for o in reversed(list(site.orders.values()))
        ]

    def webhook_targets(self, key: str) -> list[str]:
        site = self.sandbox.sites[key]
        return sorted(
            {
                w["delivery_url"]
                for w in site.webhooks.values()
                if w.get("topic") == "order.created" and w.get("status") == "active"
            }
        )

    def place(
        self, key: str, *, sku: str, quantity: int, shopper: dict
    ) -> tuple[str, list[Delivery]]:
        address = {
            "first_name": shopper["first_name"],
            "last_name": shopper["last_name"],
            "company": "",
            "address_1": shopper["address1"],
            "address_2": shopper.get("address2", ""),
            "city": shopper["city"],
            "state": shopper.get("province", ""),
            "postcode": shopper["zip"],
            "country": shopper["country_code"],
        }
        order = self.sandbox.create_order(
            key,
            lines=[{"sku": sku, "quantity": quantity}],
            email=shopper["email"],
            first_name=shopper["first_name"],
            last_name=shopper["last_name"],
            deliver=False,
        )
        order["shipping"] = address
        order["billing"] = {**order["billing"], **address}
        deliveries = self.sandbox.deliver(key, "order.created", order)
        return str(order["id"]), deliveries

    def order_view(self, key: str, order_id: str):
        site = self.sandbox.sites[key]
        try:
            order = site.orders.get(int(order_id))
        except ValueError:
            order = None
        if order is None:
            return None
        names = {str(li["id"]): li["name"] for li in order["line_items"]}
        shipments = next(
            (
                m["value"]
                for m in order.get("meta_data") or []
                if m.get("key") == "_dropship_shipments"
            ),
            [],
        )
        parcels = [
            Parcel(
                s.get("carrier", ""),
                s.get("tracking_number", ""),
                s.get("tracking_url", ""),
                ", ".join(
                    f"{line.get('quantity')} × {names.get(str(line.get('line_id')), '')}"
                    for line in s.get("lines") or []
                ),
            )
            for s in shipments
            if isinstance(s, dict)
        ]
        notes = [n["note"] for n in site.notes.get(order["id"], []) if n.get("customer_note")]
        shipping = order.get("shipping") or {}
        summary = {
            "number": order["number"],
            "status": order["status"],
            "shopper": f"{shipping.get('first_name', '')} {shipping.get('last_name', '')}".strip(),
            "lines": [(li["name"], li["sku"], li["quantity"]) for li in order["line_items"]],
        }
        return summary, parcels, notes


def _price(value: Any) -> Decimal:
    try:
        return Decimal(str(value or "0")).quantize(Decimal("0.01"))
    except InvalidOperation:
        return Decimal("0.00")
