from django.http import HttpRequest

from dropship.accounts.access import membership_of


def organisation(request: HttpRequest) -> dict:
    """The navigation needs to know who is looking: a supplier, a retailer, staff or a visitor."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"membership": None}
    membership = getattr(request, "membership", None) or membership_of(request)
    return {"membership": membership}
