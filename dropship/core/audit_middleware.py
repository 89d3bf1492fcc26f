"""Opens the audit context of every request and makes sure no change escapes the trail.

The context (dropship/core/audit.py) carries the caller (read lazily: the API authenticates inside
the view), the client IP (as the rate limits see it) and a request id: the caller's
`X-Request-ID` when it is a sane token, else a new one, echoed in the answer.

A request with a non-safe method that succeeded (status below 400) and wrote no entry of its own
gets one generic entry naming the view, so nothing escapes (one that redirected with a warning or
error and no success message refused, and changed nothing). Deliveries to the webhook inbox are
the exception: they only store the event, and processing it writes the entry, acting for the
store (integrations/services.py).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse

from dropship.core.api_guard import client_ip
from dropship.core.audit import AuditContext, audit_context, new_request_id, record_audit

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_INBOX_NAMESPACE = "integrations"  # the Shopify, WooCommerce and Stripe inbox endpoints
_INBOX_VIEWS = frozenset({"supplier_webhook"})  # suppliers' order updates, same inbox


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _reported_an_error(request: HttpRequest) -> bool:
    """A page that refused (an admin action, a form) says so in a warning or error message, and
    no success message, and redirects: nothing changed. Read without consuming the messages
    (iterating the storage would drop them)."""
    storage = getattr(request, "_messages", None)
    levels = {message.level for message in getattr(storage, "_queued_messages", None) or []}
    return bool(levels) and max(levels) >= messages.WARNING and messages.SUCCESS not in levels


def _needs_entry(request: HttpRequest, response: HttpResponse, context: AuditContext) -> bool:
    if request.method in _SAFE_METHODS or context.entries or not 200 <= response.status_code < 400:
        return False
    match = request.resolver_match
    if match is not None and (
        match.namespace == _INBOX_NAMESPACE or match.view_name in _INBOX_VIEWS
    ):
        return False
    return not _reported_an_error(request)


def _record_request(request: HttpRequest, response: HttpResponse) -> None:
    match = request.resolver_match
    view = match.view_name if match is not None else ""
    if view.startswith("admin:"):
        area = "admin"
    elif request.path.startswith("/api/"):
        area = "api"
    else:
        area = "page"
    data: dict = {"status": response.status_code, "view": view}
    if area == "admin" and request.POST.get("action"):
        data["admin_action"] = request.POST["action"][:100]
        data["selected"] = request.POST.getlist("_selected_action")[:500]
    record_audit(
        action=f"{area}.{(request.method or '').lower()}",
        target_type="request",
        target_id=view or request.path,
        summary=f"{request.method} {request.path}",
        data=data,
    )


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_context(
            request=request,
            ip_address=_valid_ip(client_ip(request)),
            request_id=new_request_id(request.headers.get("X-Request-ID")),
        ) as context:
            response = self.get_response(request)
            if _needs_entry(request, response, context):
                _record_request(request, response)
        response["X-Request-ID"] = context.request_id
        return response
