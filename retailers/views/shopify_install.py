"""Installing Dropship from Shopify: the app URL Shopify opens (signed with `hmac`), the OAuth
callback, and attaching the shop to the merchant's retailer once they are signed in.

The merchant never types a myshopify domain: Shopify names the shop in the signed request. The
token pair granted in the callback waits, encrypted, in this browser's session (one hour) until
a retailer owner signs in or signs up here; it is attached only to that owner's retailer, so a
pending install can never land in another organisation.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from dropship.accounts.access import RetailerRequest, owner_required, retailer_required
from dropship.core.errors import DomainError
from retailers import services

INSTALL_STATE_SESSION_KEY = "shopify_install"
PENDING_INSTALL_SESSION_KEY = "shopify_pending_install"


def _refused(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "retailers/shopify_install_error.html", {"message": message}, status=400)


@require_GET
def shopify_app(request: HttpRequest) -> HttpResponse:
    """The app URL: verify Shopify's signature and send the merchant to approve the app."""
    try:
        url, state, shop = services.start_shopify_install(params=request.GET.dict())
    except DomainError as exc:
        return _refused(request, exc.message)
    request.session[INSTALL_STATE_SESSION_KEY] = {"state": state, "shop": shop}
    return redirect(url)


@require_GET
def shopify_install_callback(request: HttpRequest) -> HttpResponse:
    """Shopify's redirect after the merchant approved: take the token pair, then attach it."""
    pending = request.session.pop(INSTALL_STATE_SESSION_KEY, None) or {}
    if not pending:  # an install started through the API carries its own signed state
        pending = services.api_install_state(request.GET.get("state", ""))
    try:
        grant, shop = services.receive_shopify_grant(
            params=request.GET.dict(),
            expected_state=pending.get("state", ""),
            expected_shop=pending.get("shop", ""),
        )
    except DomainError as exc:
        return _refused(request, exc.message)
    request.session[PENDING_INSTALL_SESSION_KEY] = services.seal_pending_install(
        shop=shop, grant=grant, retailer_id=pending.get("retailer")
    )
    if not request.user.is_authenticated:
        messages.info(
            request,
            f"Dropship is installed on {shop}. Sign in, or create your retailer account, "
            "to finish connecting the store.",
        )
    return redirect("retailers:shopify_install_finish")


@require_GET
@retailer_required
@owner_required
def shopify_install_finish(request: RetailerRequest) -> HttpResponse:
    """Signed in as a retailer owner: attach the waiting shop to this retailer."""
    sealed = request.session.pop(PENDING_INSTALL_SESSION_KEY, None)
    try:
        shop, grant = services.open_pending_install(sealed, retailer=request.retailer)
        store = services.attach_shopify_store(
            retailer=request.retailer, shop=shop, grant=grant, actor=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("retailers:stores")
    messages.success(request, f"{store.name} is connected. Orders will arrive automatically.")
    return redirect("retailers:stores")
