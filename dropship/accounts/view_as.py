"""Support's read-only "view as": a platform admin or support agent sees a supplier's or a
retailer's workspace as a member would, for a stated reason and a few minutes, without being able
to change anything.

A view is started from the organisation's admin page (accounts.admin_view_as) and its id kept in
the staff member's session. On every request this middleware loads it, ends it when it expired
(or the person lost their staff role or second factor), and while it is open:
- puts it on the request, where `access.membership_of` answers the viewed organisation as an
  unsaved membership without owner rights: the workspace decorators, the navigation, the MFA gate
  and the API's session authentication all resolve through that one switch;
- refuses every non-safe method (POST, PUT, PATCH, DELETE) with 403 before any view runs — pages,
  API and the admin alike — except ending the view and logging out, and refuses the few GETs
  that change state (STATE_CHANGING_GETS).
Logging out ends the view (`end_view_as_on_logout`, connected in apps.py).
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse

from dropship.accounts import selectors, services
from dropship.accounts.access import VIEW_AS_ATTR
from dropship.accounts.mfa import has_passed_mfa
from dropship.accounts.models import User, ViewAsSession
from dropship.core.problems import problem_response

VIEW_AS_SESSION_KEY = "dropship_view_as_id"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# GET pages that change state: the returns from Shopify's OAuth connect or attach a store, and
# allauth's e-mail page records the signed-in person's address the first time it is opened.
# (tests/accounts/test_view_as.py GETs every route while viewing and compares row counts.)
STATE_CHANGING_GETS = frozenset(
    {
        "account_email",
        "retailers:shopify_app",
        "retailers:shopify_callback",
        "retailers:shopify_install_callback",
        "retailers:shopify_install_finish",
    }
)
REFUSAL_HEADER = "X-View-As"
READ_ONLY = (
    "You are viewing {organisation} read-only as support: nothing can be changed in this mode. "
    "End the view to work as yourself."
)


def view_as_of(request: HttpRequest) -> ViewAsSession | None:
    """The open view-as session of this request, or None."""
    view_as: ViewAsSession | None = getattr(request, VIEW_AS_ATTR, None)
    return view_as


def enter_view_as(request: HttpRequest, view_as: ViewAsSession) -> None:
    request.session[VIEW_AS_SESSION_KEY] = view_as.pk


def leave_view_as(request: HttpRequest) -> ViewAsSession | None:
    """End this request's view (the banner's button); returns the view that was open."""
    view_as = view_as_of(request)
    if view_as is not None:
        services.end_view_as(view_as=view_as, ended_by=ViewAsSession.EndedBy.STAFF)
    request.session.pop(VIEW_AS_SESSION_KEY, None)
    setattr(request, VIEW_AS_ATTR, None)
    return view_as


def _resolve(request: HttpRequest) -> ViewAsSession | None:
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return None
    view_as_id = request.session.get(VIEW_AS_SESSION_KEY)
    if view_as_id is None:
        return None
    view_as = selectors.get_unended_view_as(staff_user=user, view_as_id=view_as_id)
    ended_by = None
    if view_as is None:
        pass
    elif not view_as.is_open():
        ended_by = ViewAsSession.EndedBy.EXPIRED
    elif not user.can_view_as or not has_passed_mfa(request):
        ended_by = ViewAsSession.EndedBy.ACCESS
    else:
        return view_as
    request.session.pop(VIEW_AS_SESSION_KEY, None)
    if view_as is not None and ended_by is not None:
        services.end_view_as(view_as=view_as, ended_by=ended_by)
        messages.info(
            request,
            f"Your read-only view of {view_as.organisation} ended "
            f"({ViewAsSession.EndedBy(ended_by).label.lower()}).",
        )
    return None


def _always_allowed(request: HttpRequest) -> bool:
    return request.path_info in (reverse("view_as_end"), reverse("account_logout"))


def _changes_state(request: HttpRequest) -> bool:
    if request.method not in SAFE_METHODS:
        return not _always_allowed(request)
    try:
        return resolve(request.path_info).view_name in STATE_CHANGING_GETS
    except Resolver404:
        return False


def _refusal(request: HttpRequest, view_as: ViewAsSession) -> HttpResponse:
    message = READ_ONLY.format(organisation=view_as.organisation)
    response: HttpResponse
    if request.path_info.startswith(("/api/", "/webhooks/")):
        response = problem_response(status=403, detail=message, code="view_as_read_only")
    elif request.headers.get("HX-Request") == "true":
        # htmx swaps nothing on a 403: the banner's script shows the message (js/view_as.js).
        response = HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
    else:
        response = render(request, "view_as_refused.html", {"message": message}, status=403)
    response[REFUSAL_HEADER] = "read-only"
    return response


class ViewAsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view_as = _resolve(request)
        setattr(request, VIEW_AS_ATTR, view_as)
        if view_as is not None and _changes_state(request):
            return _refusal(request, view_as)
        return self.get_response(request)


def end_view_as_on_logout(sender: Any, request: HttpRequest | None, user: Any, **_: Any) -> None:
    """django.contrib.auth's logout signal, sent before the session is flushed."""
    if request is None:
        return
    view_as = view_as_of(request)
    if view_as is not None:
        services.end_view_as(view_as=view_as, ended_by=ViewAsSession.EndedBy.LOGOUT)
