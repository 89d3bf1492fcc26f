from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from dropship.accounts.access import membership_of
from messaging.selectors import count_unread_messages


def unread_messages(request: HttpRequest) -> dict:
    """The navigation's count of unread messages for a retailer or supplier member: one COUNT,
    run only if the page shows it, at most once."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_messages": 0}
    membership = getattr(request, "membership", None) or membership_of(request)
    if membership is None:
        return {"unread_messages": 0}
    return {
        "unread_messages": SimpleLazyObject(
            lambda: count_unread_messages(organisation=membership.organisation)
        )
    }
