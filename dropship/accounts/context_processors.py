from django.http import HttpRequest

from dropship.accounts.access import VIEW_AS_ATTR, membership_of


def organisation(request: HttpRequest) -> dict:
    """The navigation needs to know who is looking: a supplier, a retailer, staff or a visitor;
    and every page shows the support banner while a read-only view is open (`view_as`)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"membership": None, "view_as": None}
    membership = getattr(request, "membership", None) or membership_of(request)
    return {"membership": membership, "view_as": getattr(request, VIEW_AS_ATTR, None)}
