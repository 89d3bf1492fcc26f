"""View decorators that put the caller's organisation on the request, or refuse with a clear page."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from dropship.accounts.models import Membership, User
from dropship.accounts.selectors import get_membership
from retailers.models import Retailer
from suppliers.models import Supplier

View = Callable[..., HttpResponse]


class AuthenticatedRequest(HttpRequest):
    """The request a view behind `login_required` receives (django-htmx's middleware adds
    `htmx` to every request)."""

    user: User
    htmx: HtmxDetails


class MemberRequest(AuthenticatedRequest):
    """The request a view behind the decorators below receives: a logged-in member."""

    membership: Membership


class SupplierRequest(MemberRequest):
    supplier: Supplier


class RetailerRequest(MemberRequest):
    retailer: Retailer


_MEMBERSHIP_ATTR = "_dropship_membership"
# Where dropship.accounts.view_as puts the open view-as session of a support request.
VIEW_AS_ATTR = "view_as"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def membership_of(request: HttpRequest) -> Membership | None:
    """The caller's membership, read once per request (the MFA gate, the decorators below, the
    navigation and the API's session authentication all ask). The one switch for support's
    "view as": while a view is open the staff member is a member of the viewed organisation,
    without owner rights, and ViewAsMiddleware has already refused every write."""
    if not hasattr(request, _MEMBERSHIP_ATTR):
        view_as = getattr(request, VIEW_AS_ATTR, None)
        setattr(
            request,
            _MEMBERSHIP_ATTR,
            view_as.as_membership() if view_as is not None else get_membership(user=request.user),
        )
    membership: Membership | None = getattr(request, _MEMBERSHIP_ATTR)
    return membership


def _organisation_required(kind: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_of(request)
            organisation = getattr(membership, kind, None) if membership else None
            if organisation is None:
                return render(
                    request,
                    "wrong_workspace.html",
                    {"required_kind": kind, "membership": membership},
                    status=403,
                )
            request.membership = membership  # type: ignore[attr-defined]  # it becomes a MemberRequest
            setattr(request, kind, organisation)
            if (
                isinstance(organisation, Retailer)
                and organisation.read_only_reason
                and request.method not in SAFE_METHODS
                and not getattr(view, "allowed_when_read_only", False)
            ):
                return render(
                    request,
                    "read_only.html",
                    {"reason": organisation.read_only_reason},
                    status=403,
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


supplier_required = _organisation_required("supplier")
retailer_required = _organisation_required("retailer")


def allowed_when_read_only(view: View) -> View:
    """Mark a retailer page that still takes changes while the account is read-only (its plan
    unpaid past the grace period, billing/services/plans.py): the billing pages that fix it.
    Every other retailer page refuses POSTs then with the reason (`retailer_required`)."""
    view.allowed_when_read_only = True  # type: ignore[attr-defined]
    return view


def owner_required(view: View) -> View:
    """Use after supplier_required / retailer_required: only owners may manage the team and keys."""

    @wraps(view)
    def wrapper(request: MemberRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.membership.is_owner:
            return render(request, "owner_only.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
