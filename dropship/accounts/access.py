"""View decorators that put the caller's organisation on the request, or refuse with a clear page."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dropship.accounts.selectors import get_membership


def _organisation_required(kind: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = get_membership(user=request.user)
            organisation = getattr(membership, kind, None) if membership else None
            if organisation is None:
                return render(
                    request,
                    "wrong_workspace.html",
                    {"required_kind": kind, "membership": membership},
                    status=403,
                )
            request.membership = membership
            setattr(request, kind, organisation)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


supplier_required = _organisation_required("supplier")
retailer_required = _organisation_required("retailer")


def owner_required(view: Callable) -> Callable:
    """Use after supplier_required / retailer_required: only owners may manage the team and keys."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.membership.is_owner:
            return render(request, "owner_only.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
