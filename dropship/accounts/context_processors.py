from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from dropship.accounts.access import VIEW_AS_ATTR, membership_of
from dropship.accounts.selectors import count_unread_notifications


def organisation(request: HttpRequest) -> dict:
    """The navigation needs to know who is looking: a supplier, a retailer, staff or a visitor;
    and every page shows the support banner while a read-only view is open (`view_as`).
    `unread_notifications` is one COUNT, run only if the page shows it, at most once."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"membership": None, "view_as": None, "unread_notifications": 0}
    membership = getattr(request, "membership", None) or membership_of(request)
    unread: object = 0
    if membership is not None:
        unread = SimpleLazyObject(
            lambda: count_unread_notifications(organisation=membership.organisation)
        )
    return {
        "membership": membership,
        "view_as": getattr(request, VIEW_AS_ATTR, None),
        "unread_notifications": unread,
    }
