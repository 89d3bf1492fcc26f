"""Stripe Billing in the Stripe sandbox: Products, Prices, Checkout in subscription mode,
Subscriptions, Invoices (with the create-preview call), customer portal sessions, and the
`customer.subscription.*` / `invoice.*` events. Mixed into `StripeSandbox`; no Django inside.

What it models, from Stripe's documentation:
- Prices are found again by `lookup_key` (unique per account: a second price with the same key
  is refused unless `transfer_lookup_key` is set), https://docs.stripe.com/api/prices;
- Checkout in `subscription` mode with `line_items[0][price]` and
  `subscription_data[trial_period_days]`: completing the hosted page saves the card as the
  customer's default, creates the subscription (trialing, or active with its first invoice
  paid) and sends checkout.session.completed,
  https://docs.stripe.com/payments/checkout/build-subscriptions,
  https://docs.stripe.com/payments/checkout/free-trials;
- since API 2025-03-31 the billing period lives on the subscription *items*
  (`items.data[].current_period_start/end`), not on the subscription, and an invoice names its
  subscription under `parent.subscription_details.subscription`,
  https://docs.stripe.com/changelog/basil/2025-03-31/deprecate-subscription-current-period-start-and-end;
- a price change with `proration_behavior=always_invoice` invoices the proration at once (unused
  time credited, remaining time charged; a net credit goes to the customer's balance and is
  used by the next invoice), https://docs.stripe.com/billing/subscriptions/prorations;
- `POST /v1/invoices/create_preview` (the upcoming-invoice API was removed in 2025-03-31.basil),
  https://docs.stripe.com/changelog/basil/2025-03-31/invoice-preview-api-deprecations;
- a failed renewal leaves the invoice open and the subscription `past_due`; Smart Retries try
  again and, after the last attempt, cancel the subscription (the default setting),
  https://docs.stripe.com/billing/revenue-recovery/smart-retries;
- events: customer.subscription.created / updated / deleted, invoice.created / finalized /
  paid / payment_succeeded / payment_failed / marked_uncollectible, https://docs.stripe.com/billing/subscriptions/webhooks.

Control endpoints (not Stripe's), for the demo and tests:
    POST /_sandbox/subscriptions/{sub}/renew  {"fail": bool}   the period ends: the renewal
        invoice is charged (declined with `fail`, or by a declining card), or a subscription set
        to cancel at period end ends (customer.subscription.deleted)
    POST /_sandbox/invoices/{in}/retry        {"fail": bool}   a Smart Retry of an open invoice
"""

from __future__ import annotations

import copy
import html
import re
import secrets
from typing import Any
from urllib.parse import parse_qsl

from sandbox.server import Request, Response
from sandbox.stripe_objects import ALPHANUMERIC, CARDS, ApiError, _bool, _int, new_id

PERIOD = 30 * 24 * 3600  # one month, as the sandbox counts it
RETRY_ATTEMPTS = 4  # Smart Retries' default: after the 4th failed attempt, cancel
RETRY_DELAY = 3 * 24 * 3600


class BillingMixin:
    """Stripe Billing's resources; needs StripeSandbox's store, events and locks."""

    # Provided by StripeSandbox:
    lock: Any
    objects: dict[str, dict]
    card_numbers: dict[str, str]
    base_url: str

    # --- routing ------------------------------------------------------------------------------
    def _route_billing(
        self, method: str, resource: str, rest: list[str], params: dict, account: str | None
    ) -> dict | None:
        if resource == "products" and method == "POST" and not rest:
            return self._create_product(params, account)
        if resource == "products" and method == "POST" and len(rest) == 1:
            return self._update_object(self._find(rest[0], "products", account), params)
        if resource == "prices" and method == "POST" and not rest:
            return self._create_price(params, account)
        if resource == "prices" and method == "POST" and len(rest) == 1:
            return self._update_price(rest[0], params, account)
        if resource == "prices" and method == "GET" and not rest:
            keys = params.get("lookup_keys") or []
            keys = keys if isinstance(keys, list) else [keys]
            return self._list(
                "price",
                params,
                account,
                lambda price: (
                    (not keys or price.get("lookup_key") in keys)
                    and (params.get("active") is None or price["active"] == _bool(params["active"]))
                ),
            )
        if resource == "subscriptions" and method == "POST" and len(rest) == 1:
            return self._update_subscription(rest[0], params, account)
        if resource == "subscriptions" and method == "DELETE" and len(rest) == 1:
            return self._cancel_subscription_now(rest[0], account)
        if resource == "subscriptions" and method == "GET" and not rest:
            customer = params.get("customer")
            return self._list(
                "subscription", params, account, lambda s: not customer or s["customer"] == customer
            )
        if resource == "invoices" and method == "POST" and rest == ["create_preview"]:
            return self._preview_invoice(params, account)
        if resource == "invoices" and method == "GET" and not rest:
            customer, subscription = params.get("customer"), params.get("subscription")
            return self._list(
                "invoice",
                params,
                account,
                lambda i: (
                    (not customer or i["customer"] == customer)
                    and (not subscription or _subscription_of(i) == subscription)
                ),
            )
        if resource == "billing_portal" and rest == ["sessions"] and method == "POST":
            return self._create_portal_session(params, account)
        return None

    # --- products and prices -------------------------------------------------------------------
    def _create_product(self, params: dict, account: str | None) -> dict:
        if not params.get("name"):
            raise ApiError.missing("name")
        product = {
            "id": params.get("id") or new_id("prod", 14),
            "object": "product",
            "active": _bool(params.get("active", True)),
            "created": self.now(),
            "default_price": None,
            "description": params.get("description"),
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "name": params["name"],
            "type": "service",
            "updated": self.now(),
        }
        if product["id"] in self.objects:
            raise ApiError(
                400,
                "invalid_request_error",
                f"Product already exists: {product['id']}",
                code="resource_already_exists",
            )
        return self._public(self._store(product, account))

    def _update_object(self, obj: dict, params: dict) -> dict:
        for name in ("name", "description", "nickname"):
            if name in params:
                obj[name] = params[name]
        if "active" in params:
            obj["active"] = _bool(params["active"])
        if "metadata" in params:
            obj["metadata"].update(params["metadata"] or {})
        return self._public(obj)

    def _price_with_key(self, key: str, account: str | None) -> dict | None:
        for object_id, obj in self.objects.items():
            if (
                obj.get("object") == "price"
                and obj.get("lookup_key") == key
                and self.owner.get(object_id) == account
            ):
                return obj
        return None

    def _create_price(self, params: dict, account: str | None) -> dict:
        product = params.get("product")
        if not product:
            raise ApiError.missing("product")
        self._find(product, "products", account)
        amount = _int(params, "unit_amount", required=True)
        if not params.get("currency"):
            raise ApiError.missing("currency")
        recurring = params.get("recurring") or None
        key = params.get("lookup_key") or None
        if key:
            holder = self._price_with_key(key, account)
            if holder is not None and not _bool(params.get("transfer_lookup_key", False)):
                raise ApiError(
                    400,
                    "invalid_request_error",
                    f"A price (`{holder['id']}`) already uses that lookup key.",
                    param="lookup_key",
                )
            if holder is not None:
                holder["lookup_key"] = None
        price = {
            "id": new_id("price"),
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "created": self.now(),
            "currency": params["currency"].lower(),
            "livemode": False,
            "lookup_key": key,
            "metadata": params.get("metadata") or {},
            "nickname": params.get("nickname"),
            "product": product,
            "recurring": None
            if not recurring
            else {
                "interval": recurring.get("interval", "month"),
                "interval_count": int(recurring.get("interval_count", 1)),
                "usage_type": "licensed",
                "trial_period_days": None,
            },
            "tax_behavior": "unspecified",
            "type": "recurring" if recurring else "one_time",
            "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        }
        return self._public(self._store(price, account))

    def _update_price(self, price_id: str, params: dict, account: str | None) -> dict:
        price = self._find(price_id, "prices", account)
        if "lookup_key" in params:
            key = params["lookup_key"] or None
            holder = self._price_with_key(key, account) if key else None
            if holder is not None and holder is not price:
                if not _bool(params.get("transfer_lookup_key", False)):
                    raise ApiError(
                        400,
                        "invalid_request_error",
                        f"A price (`{holder['id']}`) already uses that lookup key.",
                        param="lookup_key",
                    )
                holder["lookup_key"] = None
            price["lookup_key"] = key
        return self._update_object(price, params)

    # --- Checkout in subscription mode ---------------------------------------------------------
    def _create_subscription_checkout(self, params: dict, account: str | None) -> dict:
        if not params.get("success_url"):
            raise ApiError.missing("success_url")
        items = params.get("line_items") or []
        if not isinstance(items, list) or len(items) != 1 or not items[0].get("price"):
            raise ApiError(
                400,
                "invalid_request_error",
                "This sandbox takes exactly one recurring price in line_items.",
                param="line_items",
            )
        price = self._find(items[0]["price"], "prices", account)
        if price["type"] != "recurring":
            raise ApiError(
                400,
                "invalid_request_error",
                "You must provide at least one recurring price in `subscription` mode when "
                "using prices.",
                param="line_items",
            )
        customer = params.get("customer")
        if customer:
            self._find(customer, "customers", account)
        data = params.get("subscription_data") or {}
        trial_days = _int(data, "trial_period_days") or 0
        if trial_days < 0:
            raise ApiError(
                400, "invalid_request_error", "Invalid trial_period_days", param="trial_period_days"
            )
        now = self.now()
        session_id = f"cs_test_{''.join(secrets.choice(ALPHANUMERIC) for _ in range(58))}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": price["unit_amount"],
            "amount_total": 0 if trial_days else price["unit_amount"],
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": price["currency"],
            "customer": customer,
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "expires_at": now + 24 * 3600,
            "invoice": None,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "mode": "subscription",
            "payment_intent": None,
            "payment_status": "unpaid",
            "setup_intent": None,
            "status": "open",
            "subscription": None,
            "success_url": params["success_url"],
            "ui_mode": "hosted",
            "url": f"{self.base_url}/c/pay/{session_id}",
            "_price": price["id"],
            "_title": f"Subscribe to {self.objects[price['product']]['name']} "
            f"({price['unit_amount'] / 100:.2f} {price['currency'].upper()} a month)"
            + (f", {trial_days} days free" if trial_days else ""),
            "_button": "Start trial" if trial_days else "Subscribe",
            "_trial_days": trial_days,
            "_subscription_metadata": data.get("metadata") or {},
        }
        return self._public(self._store(session, account))

    def _complete_subscription_checkout(
        self, session: dict, number: str, *, name: str, account: str | None
    ) -> dict:
        card = CARDS[number]
        trial_days = session["_trial_days"]
        if not trial_days and card.decline_on_charge:
            raise self._card_error(card.decline_on_charge)
        method = self._new_payment_method(number, account, name=name)
        customer_id = session["customer"]
        if customer_id is None:
            customer_id = self._create_customer({"email": session["customer_email"]}, account)["id"]
            session["customer"] = customer_id
        method["customer"] = customer_id
        customer = self.objects[customer_id]
        customer["invoice_settings"]["default_payment_method"] = method["id"]
        self._emit("payment_method.attached", method, account=account)
        subscription = self._new_subscription(
            customer_id=customer_id,
            price=self.objects[session["_price"]],
            trial_days=trial_days,
            metadata=session["_subscription_metadata"],
            method_id=method["id"],
            account=account,
        )
        session.update(
            {
                "status": "complete",
                "payment_status": "no_payment_required" if trial_days else "paid",
                "subscription": subscription["id"],
                "invoice": subscription["latest_invoice"],
                "customer_details": {
                    "address": None,
                    "email": customer.get("email"),
                    "name": name or None,
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
            }
        )
        self._emit("checkout.session.completed", self._public(session), account=account)
        return copy.deepcopy(session)

    # --- subscriptions -------------------------------------------------------------------------
    def _new_subscription(
        self,
        *,
        customer_id: str,
        price: dict,
        trial_days: int,
        metadata: dict,
        method_id: str,
        account: str | None,
    ) -> dict:
        now = self.now()
        end = now + (trial_days * 24 * 3600 if trial_days else PERIOD)
        subscription_id = new_id("sub")
        subscription = {
            "id": subscription_id,
            "object": "subscription",
            "billing_cycle_anchor": end if trial_days else now,
            "cancel_at": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": price["currency"],
            "customer": customer_id,
            "default_payment_method": method_id,
            "ended_at": None,
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": new_id("si", 14),
                        "object": "subscription_item",
                        "created": now,
                        "current_period_start": now,
                        "current_period_end": end,
                        "metadata": {},
                        "price": self._public(price),
                        "quantity": 1,
                        "subscription": subscription_id,
                    }
                ],
                "has_more": False,
            },
            "latest_invoice": None,
            "livemode": False,
            "metadata": metadata,
            "start_date": now,
            "status": "trialing" if trial_days else "active",
            "trial_end": end if trial_days else None,
            "trial_start": now if trial_days else None,
            "_pending_lines": [],
        }
        self._store(subscription, account)
        self._emit("customer.subscription.created", self._public(subscription), account=account)
        amount = 0 if trial_days else price["unit_amount"]
        invoice = self._new_invoice(
            subscription,
            lines=[self._line(price, amount, now, end, proration=False)],
            reason="subscription_create",
            account=account,
        )
        self._charge_invoice(invoice, subscription, account=account, fail=False)
        return subscription

    @staticmethod
    def _item(subscription: dict) -> dict:
        item: dict = subscription["items"]["data"][0]
        return item

    def _line(
        self, price: dict, amount: int, start: int, end: int, *, proration: bool, text: str = ""
    ) -> dict:
        product = self.objects.get(price["product"], {})
        return {
            "id": new_id("il"),
            "object": "line_item",
            "amount": amount,
            "currency": price["currency"],
            "description": text
            or f"1 × {product.get('name', 'Plan')} (at {price['unit_amount'] / 100:.2f} / month)",
            "period": {"start": start, "end": end},
            "pricing": {"price_details": {"price": price["id"], "product": price["product"]}},
            "parent": {
                "type": "subscription_item_details",
                "subscription_item_details": {"proration": proration},
            },
        }

    def _new_invoice(
        self, subscription: dict, *, lines: list[dict], reason: str, account: str | None
    ) -> dict:
        now = self.now()
        customer = self.objects[subscription["customer"]]
        total = sum(line["amount"] for line in lines)
        balance = customer.get("balance", 0)  # negative: credit the customer has
        applied = max(balance, -total) if total > 0 else 0
        due = max(total + applied, 0)
        customer["balance"] = balance - applied + (min(total, 0))
        invoice_id = new_id("in")
        sequence = sum(1 for o in self.objects.values() if o.get("object") == "invoice") + 1
        item = self._item(subscription)
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "amount_due": due,
            "amount_paid": 0,
            "amount_remaining": due,
            "attempt_count": 0,
            "attempted": False,
            "billing_reason": reason,
            "collection_method": "charge_automatically",
            "created": now,
            "currency": subscription["currency"],
            "customer": subscription["customer"],
            "hosted_invoice_url": f"{self.base_url}/i/{invoice_id}",
            "lines": {"object": "list", "data": lines, "has_more": False},
            "livemode": False,
            "next_payment_attempt": None,
            "number": f"SBX-{sequence:06d}",
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(subscription["metadata"]),
                    "subscription": subscription["id"],
                },
            },
            "period_start": item["current_period_start"],
            "period_end": item["current_period_end"],
            "starting_balance": balance,
            "status": "open",
            "status_transitions": {"finalized_at": now, "paid_at": None},
            "subtotal": total,
            "total": total,
        }
        self._store(invoice, account)
        subscription["latest_invoice"] = invoice_id
        self._emit("invoice.created", self._public(invoice), account=account)
        self._emit("invoice.finalized", self._public(invoice), account=account)
        return invoice

    def _charge_invoice(
        self, invoice: dict, subscription: dict, *, account: str | None, fail: bool
    ) -> bool:
        """Charge the customer's default card for an open invoice; True when it is paid."""
        now = self.now()
        method = subscription.get("default_payment_method") or self.objects[
            subscription["customer"]
        ]["invoice_settings"].get("default_payment_method")
        card = CARDS.get(self.card_numbers.get(method or "", ""))
        if invoice["amount_due"] > 0:
            invoice["attempted"] = True
            invoice["attempt_count"] += 1
        declined = invoice["amount_due"] > 0 and (
            fail or card is None or bool(card.decline_on_charge)
        )
        if declined:
            invoice["next_payment_attempt"] = (
                now + RETRY_DELAY if invoice["attempt_count"] < RETRY_ATTEMPTS else None
            )
            self._emit("invoice.payment_failed", self._public(invoice), account=account)
            return False
        invoice.update(
            {
                "status": "paid",
                "amount_paid": invoice["amount_due"],
                "amount_remaining": 0,
                "next_payment_attempt": None,
            }
        )
        invoice["status_transitions"]["paid_at"] = now
        self._emit("invoice.paid", self._public(invoice), account=account)
        self._emit("invoice.payment_succeeded", self._public(invoice), account=account)
        return True

    def _update_subscription(self, subscription_id: str, params: dict, account: str | None) -> dict:
        subscription = self._find(subscription_id, "subscriptions", account)
        if subscription["status"] in ("canceled", "incomplete_expired"):
            raise ApiError(
                400,
                "invalid_request_error",
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        previous: dict[str, Any] = {}
        if "cancel_at_period_end" in params:
            wanted = _bool(params["cancel_at_period_end"])
            if wanted != subscription["cancel_at_period_end"]:
                previous["cancel_at_period_end"] = subscription["cancel_at_period_end"]
                subscription["cancel_at_period_end"] = wanted
                item = self._item(subscription)
                subscription["cancel_at"] = item["current_period_end"] if wanted else None
                subscription["canceled_at"] = self.now() if wanted else None
        if "metadata" in params:
            subscription["metadata"].update(params["metadata"] or {})
        items = params.get("items") or []
        invoice = None
        if items:
            invoice = self._change_price(subscription, items, params, account, previous)
        if previous:
            self._emit(
                "customer.subscription.updated",
                self._public(subscription),
                account=account,
                previous=previous,
            )
        if invoice is not None and invoice["status"] == "open":
            self._charge_invoice(invoice, subscription, account=account, fail=False)
        return self._public(subscription)

    def _change_price(
        self,
        subscription: dict,
        items: list,
        params: dict,
        account: str | None,
        previous: dict,
    ) -> dict | None:
        item = self._item(subscription)
        wanted = items[0] if isinstance(items, list) else {}
        if wanted.get("id") and wanted["id"] != item["id"]:
            raise ApiError.no_such("subscription_item", wanted["id"], "items[0][id]")
        new_price = self._find(wanted.get("price") or "", "prices", None)
        old_price = item["price"]
        if new_price["id"] == old_price["id"]:
            return None
        behavior = params.get("proration_behavior", "create_prorations")
        if behavior not in ("create_prorations", "always_invoice", "none"):
            raise ApiError(
                400,
                "invalid_request_error",
                f"Invalid proration_behavior: must be one of create_prorations, always_invoice, "
                f"or none (got {behavior})",
                param="proration_behavior",
            )
        previous["items"] = copy.deepcopy(subscription["items"])
        item["price"] = self._public(new_price)
        if subscription["status"] == "trialing" or behavior == "none":
            return None
        lines = self._proration_lines(
            item, old_price, new_price, _int(params, "proration_date") or self.now()
        )
        if behavior == "create_prorations":
            subscription["_pending_lines"].extend(lines)
            return None
        return self._new_invoice(
            subscription, lines=lines, reason="subscription_update", account=account
        )

    def _proration_lines(self, item: dict, old: dict, new: dict, when: int) -> list[dict]:
        start, end = item["current_period_start"], item["current_period_end"]
        when = min(max(when, start), end)
        left, length = end - when, max(end - start, 1)
        return [
            self._line(
                old,
                -round(old["unit_amount"] * left / length),
                when,
                end,
                proration=True,
                text=f"Unused time on {self.objects[old['product']]['name']}",
            ),
            self._line(
                new,
                round(new["unit_amount"] * left / length),
                when,
                end,
                proration=True,
                text=f"Remaining time on {self.objects[new['product']]['name']}",
            ),
        ]

    def _cancel_subscription_now(self, subscription_id: str, account: str | None) -> dict:
        subscription = self._find(subscription_id, "subscriptions", account)
        if subscription["status"] == "canceled":
            return self._public(subscription)
        self._end(subscription, account)
        return self._public(subscription)

    def _end(self, subscription: dict, account: str | None) -> None:
        now = self.now()
        subscription.update(
            {
                "status": "canceled",
                "ended_at": now,
                "canceled_at": subscription["canceled_at"] or now,
            }
        )
        self._emit("customer.subscription.deleted", self._public(subscription), account=account)

    # --- invoices ------------------------------------------------------------------------------
    def _preview_invoice(self, params: dict, account: str | None) -> dict:
        """The next invoice of a subscription, or what a price change would invoice now."""
        subscription_id = params.get("subscription")
        if not subscription_id:
            raise ApiError(
                400,
                "invalid_request_error",
                "You must pass one of subscription, subscription_details.items, schedule, "
                "schedule_details.phases or invoice_items.",
            )
        subscription = self._find(subscription_id, "subscriptions", account)
        customer = self.objects[subscription["customer"]]
        item = self._item(subscription)
        details = params.get("subscription_details") or {}
        wanted = (details.get("items") or [{}])[0]
        now = self.now()
        if wanted.get("price") and wanted["price"] != item["price"]["id"]:
            new = self._find(wanted["price"], "prices", None)
            when = _int(details, "proration_date") or now
            lines = (
                []
                if subscription["status"] == "trialing"
                else self._proration_lines(item, item["price"], new, when)
            )
            period = (now, item["current_period_end"])
        else:
            price = item["price"]
            end = item["current_period_end"]
            lines = [
                *subscription["_pending_lines"],
                self._line(price, price["unit_amount"], end, end + PERIOD, proration=False),
            ]
            period = (item["current_period_start"], end)
        total = sum(line["amount"] for line in lines)
        credit = customer.get("balance", 0)
        due = max(total + (max(credit, -total) if total > 0 else 0), 0)
        return {
            "id": f"upcoming_in_{secrets.token_hex(8)}",
            "object": "invoice",
            "amount_due": due,
            "currency": subscription["currency"],
            "customer": subscription["customer"],
            "lines": {"object": "list", "data": copy.deepcopy(lines), "has_more": False},
            "next_payment_attempt": None if wanted.get("price") else period[1],
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription_id, "metadata": {}},
            },
            "period_start": period[0],
            "period_end": period[1],
            "starting_balance": credit,
            "status": "draft",
            "subtotal": total,
            "total": total,
        }

    # --- things that happen at Stripe on their own (control endpoints) ------------------------
    def renew_subscription(self, subscription_id: str, *, fail: bool = False) -> dict:
        """The current period ends: cancel (cancel_at_period_end) or invoice the next period."""
        with self.lock:
            subscription = self.objects.get(subscription_id)
            if subscription is None or subscription.get("object") != "subscription":
                raise ApiError.no_such("subscription", subscription_id)
            account = self.owner.get(subscription_id)
            if subscription["status"] == "canceled":
                raise ApiError(400, "invalid_request_error", "The subscription is canceled.")
            if subscription["cancel_at_period_end"]:
                self._end(subscription, account)
                return self._public(subscription)
            item = self._item(subscription)
            start = item["current_period_end"]
            previous = {
                "status": subscription["status"],
                "items": copy.deepcopy(subscription["items"]),
            }
            item.update({"current_period_start": start, "current_period_end": start + PERIOD})
            price = item["price"]
            lines = [
                *subscription.pop("_pending_lines", []),
                self._line(price, price["unit_amount"], start, start + PERIOD, proration=False),
            ]
            subscription["_pending_lines"] = []
            invoice = self._new_invoice(
                subscription, lines=lines, reason="subscription_cycle", account=account
            )
            paid = self._charge_invoice(invoice, subscription, account=account, fail=fail)
            subscription["status"] = "active" if paid else "past_due"
            self._emit(
                "customer.subscription.updated",
                self._public(subscription),
                account=account,
                previous=previous,
            )
            return self._public(subscription)

    def retry_invoice(self, invoice_id: str, *, fail: bool = False) -> dict:
        """A Smart Retry: pays the open invoice (the subscription is active again), or fails
        once more; after the last attempt the subscription is cancelled."""
        with self.lock:
            invoice = self.objects.get(invoice_id)
            if invoice is None or invoice.get("object") != "invoice":
                raise ApiError.no_such("invoice", invoice_id)
            if invoice["status"] != "open":
                raise ApiError(400, "invalid_request_error", "Invoice is already paid or void.")
            account = self.owner.get(invoice_id)
            subscription = self.objects[_subscription_of(invoice)]
            paid = self._charge_invoice(invoice, subscription, account=account, fail=fail)
            previous = {"status": subscription["status"]}
            if paid and subscription["status"] == "past_due":
                subscription["status"] = "active"
                self._emit(
                    "customer.subscription.updated",
                    self._public(subscription),
                    account=account,
                    previous=previous,
                )
            elif not paid and invoice["attempt_count"] >= RETRY_ATTEMPTS:
                invoice["status"] = "uncollectible"
                self._emit("invoice.marked_uncollectible", self._public(invoice), account=account)
                self._end(subscription, account)
            return self._public(invoice)

    def _billing_control(self, request: Request, rest: list[str], data: dict) -> Response | None:
        if len(rest) == 3 and rest[0] == "subscriptions" and rest[2] == "renew":
            return Response.json(self.renew_subscription(rest[1], fail=bool(data.get("fail"))), 200)
        if len(rest) == 3 and rest[0] == "invoices" and rest[2] == "retry":
            return Response.json(self.retry_invoice(rest[1], fail=bool(data.get("fail"))), 200)
        return None

    # --- the customer portal -------------------------------------------------------------------
    def _create_portal_session(self, params: dict, account: str | None) -> dict:
        customer = params.get("customer")
        if not customer:
            raise ApiError.missing("customer")
        self._find(customer, "customers", account)
        session_id = new_id("bps")
        session = {
            "id": session_id,
            "object": "billing_portal.session",
            "configuration": "bpc_sandbox_default",
            "created": self.now(),
            "customer": customer,
            "flow": None,
            "livemode": False,
            "locale": None,
            "on_behalf_of": None,
            "return_url": params.get("return_url"),
            "url": f"{self.base_url}/p/session/{session_id}",
        }
        return self._public(self._store(session, account))

    def _portal_page(self, request: Request, session_id: str) -> Response:
        """The hosted portal: the customer's subscription, cancel at period end or resume."""
        with self.lock:
            session = self.objects.get(session_id)
            if session is None or session.get("object") != "billing_portal.session":
                return Response.html("<h1>This portal link is not valid.</h1>", 404)
            account = self.owner.get(session_id)
            subscriptions = [
                obj
                for obj in self.objects.values()
                if obj.get("object") == "subscription"
                and obj["customer"] == session["customer"]
                and obj["status"] != "canceled"
            ]
            if request.method == "POST":
                form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
                for subscription in subscriptions:
                    if subscription["id"] == form.get("subscription"):
                        self._update_subscription(
                            subscription["id"],
                            {"cancel_at_period_end": form.get("action") == "cancel"},
                            account,
                        )
                return Response(status=303, headers={"Location": session["return_url"] or "/"})
        rows = "".join(
            f"<li>{html.escape(self.objects[s['items']['data'][0]['price']['product']]['name'])}"
            f" · {html.escape(s['status'])}"
            + (" · ends at period end" if s["cancel_at_period_end"] else "")
            + "<form method='post'><input type='hidden' name='subscription' "
            f"value='{html.escape(s['id'])}'>"
            + (
                "<button name='action' value='resume'>Renew plan</button>"
                if s["cancel_at_period_end"]
                else "<button name='action' value='cancel'>Cancel plan</button>"
            )
            + "</form></li>"
            for s in subscriptions
        )
        back = html.escape(session["return_url"] or "/")
        return Response.html(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<title>Manage your plan · Stripe sandbox</title></head><body><main>"
            f"<h1>Manage your plan</h1><ul>{rows or '<li>No plan.</li>'}</ul>"
            f"<p><a href='{back}'>Return</a></p></main></body></html>"
        )


def _subscription_of(invoice: dict) -> str:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return str(details.get("subscription") or "")


PORTAL_PATH = re.compile(r"^p/session/(bps_[A-Za-z0-9]+)$")
