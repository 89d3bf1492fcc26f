"""Stripe's objects as the sandbox builds them (shapes from Stripe's own fixtures), the test
cards, the bracket-key form decoding, API errors and the hosted pages. No state here: the
sandbox (sandbox/stripe.py) keeps the objects and decides what happens."""

from __future__ import annotations

import copy
import html
import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

API_VERSION = "2026-10-28.endive"
ALPHANUMERIC = string.ascii_letters + string.digits
ZERO_DECIMAL = {
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
}
DISPUTE_FEE = 1500
# Stripe's payout regions: an account outside the platform's is paid cross-border. The EEA is one.
_EUROPEAN_ECONOMIC_AREA = {
    "at",
    "be",
    "bg",
    "hr",
    "cy",
    "cz",
    "dk",
    "ee",
    "fi",
    "fr",
    "de",
    "gr",
    "hu",
    "is",
    "ie",
    "it",
    "lv",
    "li",
    "lt",
    "lu",
    "mt",
    "nl",
    "no",
    "pl",
    "pt",
    "ro",
    "sk",
    "si",
    "es",
    "se",
}


def region_of(country: str) -> str:
    return "eea" if country.lower() in _EUROPEAN_ECONOMIC_AREA else country.lower()


CHECKOUT_TTL = 24 * 3600
ACCOUNT_LINK_TTL = 300
ONBOARDING_REQUIREMENTS = [
    "business_profile.url",
    "external_account",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]


@dataclass(frozen=True)
class Card:
    brand: str
    funding: str
    decline_on_setup: str = ""  # decline code when saving the card
    decline_on_charge: str = ""  # decline code on every charge
    # 3-D Secure: "always" (every payment, off-session ones are declined with
    # authentication_required), "unless_set_up" (a card saved for off-session use is not asked).
    authentication: str = ""


CARDS = {
    "4242424242424242": Card("visa", "credit"),
    "4000056655665556": Card("visa", "debit"),
    "5555555555554444": Card("mastercard", "credit"),
    "4000000000000341": Card("visa", "credit", decline_on_charge="generic_decline"),
    "4000000000009995": Card("visa", "credit", decline_on_charge="insufficient_funds"),
    "4000000000000002": Card(
        "visa", "credit", decline_on_setup="generic_decline", decline_on_charge="generic_decline"
    ),
    "4000002760003184": Card("visa", "credit", authentication="always"),
    "4000002500003155": Card("visa", "credit", authentication="unless_set_up"),
}
MAGIC_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_authenticationRequiredSetupForOffSession": "4000002500003155",
}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "authentication_required": "Your card was declined. This transaction requires authentication.",
}


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{''.join(secrets.choice(ALPHANUMERIC) for _ in range(length))}"


def processing_fee(amount: int) -> int:
    """Stripe's standard US card price: 2.9 % + 30 cents, rounded half up (integer arithmetic)."""
    return (amount * 29 + 500) // 1000 + 30


def format_amount(amount: int, currency: str) -> str:
    if currency.lower() in ZERO_DECIMAL:
        return f"{amount} {currency}"
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower(), "")
    value = f"{amount / 100:.2f}"
    return f"{symbol}{value}" if symbol else f"{value} {currency}"


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket-key form encoding to nested dicts and lists:
    ``a[b][c]=1`` -> {"a": {"b": {"c": "1"}}}; ``expand[]=x`` and ``expand[0]=x`` -> lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        names = re.findall(r"([^\[\]]+)|\[([^\[\]]*)\]", key)
        path = [a or b for a, b in names]
        if not path:
            continue
        node: Any = root
        for index, name in enumerate(path):
            last = index == len(path) - 1
            following = None if last else path[index + 1]
            child_default: Any = [] if following == "" or (following or "x").isdigit() else {}
            if isinstance(node, list):
                if name == "" or int(name) >= len(node):
                    node.append(value if last else child_default)
                    node = node[-1]
                else:
                    if last:
                        node[int(name)] = value
                    node = node[int(name)]
                continue
            if last:
                node[name] = value
            else:
                node = node.setdefault(name, child_default)
    return root


def _bool(value: Any) -> bool:
    return str(value).lower() in {"true", "1", "on"}


def _int(params: dict, name: str, *, required: bool = False) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        if required:
            raise ApiError.missing(name)
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(
            400, "invalid_request_error", f"Invalid integer: {value}", param=name
        ) from None


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        extra: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"type": type_, "message": message}
        if code:
            self.body["code"] = code
            self.body["doc_url"] = f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}"
        if param:
            self.body["param"] = param
        self.body.update(extra or {})

    @classmethod
    def missing(cls, param: str) -> ApiError:
        return cls(
            400,
            "invalid_request_error",
            f"Missing required param: {param}.",
            code="parameter_missing",
            param=param,
        )

    @classmethod
    def no_such(cls, kind: str, object_id: str, param: str = "id") -> ApiError:
        return cls(
            404,
            "invalid_request_error",
            f"No such {kind}: '{object_id}'",
            code="resource_missing",
            param=param,
        )


# --- objects -------------------------------------------------------------------------------------
def customer_object(*, now, params) -> dict:
    return {
        "id": new_id("cus", 14),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": now,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": params.get("description"),
        "email": params.get("email"),
        "invoice_prefix": secrets.token_hex(4).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": params.get("metadata") or {},
        "name": params.get("name"),
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def payment_method_object(*, now, card, number, name) -> dict:
    return {
        "id": new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": None,
            "name": name or None,
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": card.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": "US",
            "display_brand": card.brand,
            "exp_month": 12,
            "exp_year": 2034,
            "fingerprint": secrets.token_hex(8),
            "funding": card.funding,
            "last4": number[-4:],
            "networks": {"available": [card.brand], "preferred": None},
            "wallet": None,
        },
        "created": now,
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def balance_transaction_object(
    *, amount, now, currency, description, fee, category, source, type_, fee_description
) -> dict:
    return {
        "id": new_id("txn"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": now + 2 * 86400,
        "created": now,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": (
            [
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": fee_description,
                    "type": "stripe_fee",
                }
            ]
            if fee
            else []
        ),
        "net": amount - fee,
        "reporting_category": category,
        "source": source,
        "status": "pending",
        "type": type_,
    }


def charge_object(
    *, now, charge_id, amount, balance_transaction, currency, failed, intent, method, card
) -> dict:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": 0 if failed else amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": balance_transaction,
        "billing_details": copy.deepcopy(method["billing_details"]),
        "calculated_statement_descriptor": "DROPSHIP",
        "captured": not failed,
        "created": now,
        "currency": currency,
        "customer": intent["customer"],
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": "card_declined" if failed else None,
        "failure_message": DECLINE_MESSAGES.get(card.decline_on_charge) if failed else None,
        "fraud_details": {},
        "livemode": False,
        "metadata": copy.deepcopy(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": {
            "network_status": "declined_by_network" if failed else "approved_by_network",
            "reason": card.decline_on_charge or None,
            "risk_level": "normal",
            "risk_score": 20,
            "seller_message": (
                "The bank did not return any further details with this decline."
                if failed
                else "Payment complete."
            ),
            "type": "issuer_declined" if failed else "authorized",
        },
        "paid": not failed,
        "payment_intent": intent["id"],
        "payment_method": method["id"],
        "payment_method_details": {
            "card": {
                "brand": card.brand,
                "country": "US",
                "exp_month": method["card"]["exp_month"],
                "exp_year": method["card"]["exp_year"],
                "fingerprint": method["card"]["fingerprint"],
                "funding": card.funding,
                "last4": method["card"]["last4"],
                "network": card.brand,
            },
            "type": "card",
        },
        "receipt_email": None,
        "receipt_url": None,
        "refunded": False,
        # No `refunds` list: a Charge stopped embedding its refunds in API 2022-11-15
        # (https://docs.stripe.com/changelog/2022-11-15/deprecates-charges-auto-expand).
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "failed" if failed else "succeeded",
        "transfer_data": None,
        "transfer_group": intent["transfer_group"],
    }


def account_object(*, now, capabilities, account_type, params) -> dict:
    return {
        "id": new_id("acct", 16),
        "object": "account",
        "business_profile": {
            "annual_revenue": None,
            "estimated_worker_count": None,
            "mcc": None,
            "name": (params.get("business_profile") or {}).get("name"),
            "product_description": None,
            "support_address": None,
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": (params.get("business_profile") or {}).get("url"),
        },
        "business_type": params.get("business_type"),
        "capabilities": capabilities,
        "charges_enabled": False,
        "controller": {"type": "application", "is_controller": True},
        "country": (params.get("country") or "US").upper(),
        "created": now,
        "default_currency": (params.get("default_currency") or "usd").lower(),
        "details_submitted": False,
        "email": params.get("email"),
        "external_accounts": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": "",
        },
        "future_requirements": {
            "alternatives": [],
            "current_deadline": None,
            "currently_due": [],
            "disabled_reason": None,
            "errors": [],
            "eventually_due": [],
            "past_due": [],
            "pending_verification": [],
        },
        "metadata": params.get("metadata") or {},
        "payouts_enabled": False,
        "requirements": {
            "alternatives": [],
            "current_deadline": None,
            "currently_due": list(ONBOARDING_REQUIREMENTS),
            "disabled_reason": "requirements.past_due",
            "errors": [],
            "eventually_due": list(ONBOARDING_REQUIREMENTS),
            "past_due": list(ONBOARDING_REQUIREMENTS),
            "pending_verification": [],
        },
        "settings": {
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {"delay_days": 2, "interval": "daily"},
                "statement_descriptor": None,
            }
        },
        "tos_acceptance": {
            "date": None,
            "ip": None,
            "service_agreement": "full",
            "user_agent": None,
        },
        "type": account_type,
    }


def transfer_object(
    *,
    now,
    transfer_id,
    amount,
    currency,
    destination_id,
    payment_id,
    source,
    balance_transaction,
    params,
) -> dict:
    return {
        "id": transfer_id,
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "balance_transaction": balance_transaction["id"],
        "created": now,
        "currency": currency,
        "description": params.get("description"),
        "destination": destination_id,
        "destination_payment": payment_id,
        "livemode": False,
        "metadata": params.get("metadata") or {},
        "reversals": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/transfers/{transfer_id}/reversals",
        },
        "reversed": False,
        "source_transaction": source,
        "source_type": "card",
        "transfer_group": params.get("transfer_group"),
    }


def reversal_object(
    *, now, reversal_id, amount, transfer_id, balance_transaction, transfer, params
) -> dict:
    return {
        "id": reversal_id,
        "object": "transfer_reversal",
        "amount": amount,
        "balance_transaction": balance_transaction["id"],
        "created": now,
        "currency": transfer["currency"],
        "destination_payment_refund": None,
        "metadata": params.get("metadata") or {},
        "source_refund": params.get("source_refund"),
        "transfer": transfer_id,
    }


def refund_object(*, now, refund_id, amount, balance_transaction, charge, params, status) -> dict:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": balance_transaction["id"],
        "charge": charge["id"],
        "created": now,
        "currency": charge["currency"],
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": params.get("metadata") or {},
        "payment_intent": charge["payment_intent"],
        "reason": params.get("reason"),
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "failure_reason": None,
        "transfer_reversal": None,
    }


def dispute_object(*, now, dispute_id, amount, charge, reason, withdrawal) -> dict:
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [withdrawal],
        "charge": charge["id"],
        "created": now,
        "currency": charge["currency"],
        "evidence": {},
        "evidence_details": {
            "due_by": now + 7 * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "status": "needs_response",
    }


def payout_object(*, amount, now, currency, fail) -> dict:
    return {
        "id": new_id("po"),
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": now + 2 * 86400,
        "automatic": True,
        "balance_transaction": None,
        "created": now,
        "currency": currency,
        "description": "STRIPE PAYOUT",
        "destination": new_id("ba"),
        "failure_balance_transaction": None,
        "failure_code": "account_closed" if fail else None,
        "failure_message": "The bank account has been closed." if fail else None,
        "livemode": False,
        "metadata": {},
        "method": "standard",
        "original_payout": None,
        "reconciliation_status": "completed",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": None,
        "status": "failed" if fail else "paid",
        "type": "bank_account",
    }


def setup_intent_object(*, now, customer, params) -> dict:
    return {
        "id": new_id("seti"),
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": None,
        "created": now,
        "customer": customer,
        "description": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": params.get("metadata") or {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": "off_session",
    }


def checkout_session_object(*, session_id, now, customer, url, setup_intent, params) -> dict:
    return {
        "id": session_id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": None,
        "amount_total": None,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": params.get("currency"),
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer,
        "customer_creation": None,
        "customer_details": None,
        "customer_email": params.get("customer_email"),
        "expires_at": now + CHECKOUT_TTL,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": None,
        "metadata": params.get("metadata") or {},
        "mode": "setup",
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_options": {},
        "payment_method_types": params.get("payment_method_types") or ["card"],
        "payment_status": "no_payment_required",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "setup_intent": setup_intent["id"],
        "shipping_address_collection": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": params["success_url"],
        "total_details": None,
        "ui_mode": "hosted",
        "url": url,
    }


def payment_intent_object(*, amount, now, currency, customer, method, params) -> dict:
    return {
        "id": new_id("pi"),
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": None,
        "confirmation_method": "automatic",
        "created": now,
        "currency": currency,
        "customer": customer,
        "description": params.get("description"),
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": params.get("metadata") or {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": method["id"] if method else None,
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": params.get("statement_descriptor"),
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method" if method is None else "requires_confirmation",
        "transfer_data": None,
        "transfer_group": params.get("transfer_group"),
    }


# --- hosted pages --------------------------------------------------------------------------------
def checkout_page_html(*, session: dict, customer: dict, error: str = "") -> str:
    """The hosted Checkout page (setup or subscription mode): a card form that posts back to
    itself."""
    cancel = session.get("cancel_url")
    who = customer.get("name") or customer.get("email") or "future payments"
    title = session.get("_title") or f"Save a card for {who}"
    button = session.get("_button") or "Save card"
    alert = f'<p role="alert" class="error">{html.escape(error)}</p>' if error else ""
    cancel_link = f'<a href="{html.escape(cancel)}">Cancel</a>' if cancel else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · Stripe sandbox</title>
<style>body{{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1a1f36}}
label{{display:block;margin:.8rem 0 .2rem;font-weight:600}}input{{width:100%;padding:.6rem;font-size:1rem;border:1px solid #8792a2;border-radius:6px;box-sizing:border-box}}
input:focus,button:focus{{outline:3px solid #635bff;outline-offset:2px}}button{{margin-top:1.2rem;width:100%;padding:.8rem;font-size:1rem;background:#533afd;color:#fff;border:0;border-radius:6px;cursor:pointer}}
.error{{color:#a4122a;background:#fde8ec;padding:.6rem;border-radius:6px}}.muted{{color:#4f566b;font-size:.9rem}}</style></head>
<body><main><h1>{html.escape(title)}</h1>
<p class="muted">Stripe sandbox · test mode. Try 4242 4242 4242 4242, or 4000 0000 0000 0341 for a card that saves but declines every charge.</p>
{alert}
<form method="post">
<label for="cardnumber">Card number</label><input id="cardnumber" name="cardnumber" inputmode="numeric" autocomplete="cc-number" value="4242 4242 4242 4242" required>
<label for="exp">Expiry (MM / YY)</label><input id="exp" name="exp" autocomplete="cc-exp" value="12 / 34" required>
<label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" value="123" required>
<label for="name">Name on card</label><input id="name" name="name" autocomplete="cc-name" value="">
<button type="submit">{html.escape(button)}</button></form>
<p>{cancel_link}</p></main></body></html>"""


def onboarding_page_html(*, account_id: str, name: str) -> str:
    """The hosted Connect onboarding: business and bank details, then agree and submit."""
    name = html.escape(name)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Get paid with Stripe · sandbox</title>
<style>body{{font:16px system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#1a1f36}}
label{{display:block;margin:.8rem 0 .2rem;font-weight:600}}input{{width:100%;padding:.6rem;font-size:1rem;border:1px solid #8792a2;border-radius:6px;box-sizing:border-box}}
input:focus,button:focus{{outline:3px solid #635bff;outline-offset:2px}}button{{margin-top:1.2rem;width:100%;padding:.8rem;font-size:1rem;background:#533afd;color:#fff;border:0;border-radius:6px;cursor:pointer}}
.muted{{color:#4f566b;font-size:.9rem}}</style></head>
<body><main><h1>Set up payouts</h1><p class="muted">Stripe sandbox · test mode · account {html.escape(account_id)}</p>
<form method="post">
<label for="business_name">Business name</label><input id="business_name" name="business_name" value="{name}" required>
<label for="routing">Routing number</label><input id="routing" name="routing" inputmode="numeric" value="110000000" required>
<label for="bank_account">Account number</label><input id="bank_account" name="bank_account" inputmode="numeric" value="000123456789" required>
<button type="submit">Agree and submit</button></form></main></body></html>"""


def authentication_page_html(*, intent: dict) -> str:
    """The bank's 3-D Secure challenge for a PaymentIntent: complete or fail it."""
    amount = html.escape(format_amount(intent["amount"], intent["currency"]))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>3D Secure authentication · Stripe sandbox</title></head>
<body><main><h1>Confirm a payment of {amount}</h1>
<p>Stripe sandbox · test mode · your bank asks you to authenticate this payment.</p>
<form method="post"><button type="submit" name="action" value="complete">Complete authentication</button>
<button type="submit" name="action" value="fail">Fail authentication</button></form></main></body></html>"""
