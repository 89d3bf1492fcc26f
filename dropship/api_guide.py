"""The integrator guide at /api/v1/guide: a server-rendered page (no script, CSP-safe) that
explains what the OpenAPI document cannot: authentication, scopes, errors, pagination,
idempotency, rate limits and the webhooks we send to suppliers. Its numbers come from the
settings and the scope map, so the page cannot drift from what the API does.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dropship.accounts.models import ALL_SCOPES
from dropship.api_pagination import MAX_PAGE_SIZE
from dropship.api_scopes import ANY_KEY, API_ROOT, AREA_BY_PREFIX
from dropship.core.api_guard import rate_of


def _limit(rate: str) -> str:
    calls, seconds = rate_of(rate)
    return f"{calls:,} per {'minute' if seconds == 60 else f'{seconds} s'}"


def api_guide(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri("/").rstrip("/")
    return render(
        request,
        "accounts/api_guide.html",
        {
            "base": base,
            "scopes": ALL_SCOPES,
            "areas": sorted(
                (f"{API_ROOT}{prefix}", area or "any valid key")
                for prefix, area in AREA_BY_PREFIX.items()
            ),
            "any_key": ANY_KEY,
            "max_page_size": MAX_PAGE_SIZE,
            "idempotency_hours": int(settings.API_IDEMPOTENCY_TTL.total_seconds() // 3600),
            "limits": {
                "per_key": _limit(settings.API_RATE_LIMIT_PER_KEY),
                "per_ip": _limit(settings.API_RATE_LIMIT_PER_IP),
                "per_ip_total": _limit(settings.API_RATE_LIMIT_PER_IP_TOTAL),
                "auth_failures": _limit(settings.API_RATE_LIMIT_AUTH_FAILURES_PER_IP),
                "expensive": [
                    (operation, _limit(rate))
                    for operation, rate in settings.API_RATE_LIMIT_EXPENSIVE.items()
                ],
            },
        },
    )
