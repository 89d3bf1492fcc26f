"""Around every call under /api/: rate limits, and the API's one error shape for the answers that
Django gives before or instead of the API (an unknown path's 404, a 405, a CSRF 403, a 500).
Around every inbound webhook under /webhooks/: a generous rate limit per source.

Limits (settings API_RATE_LIMIT_*, counted in django-ratelimit's fixed windows and cache keys in
the default cache, Redis in production and the local cache in the embedded setup):
- per API key (a bearer token; a dashboard session counts per user),
- per client IP: every call from one address whatever its credentials, and a tighter budget for
  calls without credentials,
- per client IP for failed authentication: each 401 counts, and an IP over the budget is refused
  before its credentials are even looked at, so keys cannot be guessed at speed,
- own budgets per caller for the expensive operations (API_RATE_LIMIT_EXPENSIVE: catalog search,
  1,000-row stock batches, order intake), on top of the caller's general budget,
- per webhook source (the vendor and the store or supplier it speaks for), generous enough for the
  bursts a bulk edit in a shop sends; over it the vendor gets 429 and delivers again later.
Every API answer carries `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds
until the window ends) and `RateLimit-Policy` (`600;w=60`) for the budget closest to its end (the
IETF httpapi rate-limit fields; the same values as `X-RateLimit-*` for older clients); a refused
call answers 429 with `Retry-After` too.

On Redis all the budgets of a call are read and counted in ONE round trip (a Lua script: the
failed-authentication gate is read first and, when it is closed, nothing is counted); other
caches count each budget through django-ratelimit (an add and an increment per budget, correct
but several round trips, which only matters on a cache that has round trips).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import django_ratelimit.core as ratelimit_core
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import _split_rate, get_usage

from dropship.core.problems import is_problem, problem_response

API_PREFIX = "/api/"
WEBHOOK_PREFIX = "/webhooks/"


def rate_of(rate: str) -> tuple[int, int]:
    """("600/m") -> (600, 60): calls and window seconds, as django-ratelimit reads the setting."""
    limit, window = _split_rate(rate)
    return int(limit), int(window)


@dataclass(frozen=True)
class Usage:
    limit: int
    count: int
    seconds_left: int
    window: int = 60

    @property
    def is_over(self) -> bool:
        return self.count > self.limit

    @property
    def remaining(self) -> int:
        return max(self.limit - self.count, 0)

    def headers(self) -> dict[str, str]:
        limit, remaining, reset = str(self.limit), str(self.remaining), str(self.seconds_left)
        return {
            "RateLimit-Limit": limit,
            "RateLimit-Remaining": remaining,
            "RateLimit-Reset": reset,
            "RateLimit-Policy": f"{self.limit};w={self.window}",
            "X-RateLimit-Limit": limit,
            "X-RateLimit-Remaining": remaining,
            "X-RateLimit-Reset": reset,
        }


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind the trusted proxy the address it appended to X-Forwarded-For (the
    entries before it are whatever the client sent)."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.rsplit(",", 1)[-1].strip()[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def _caller(request: HttpRequest) -> tuple[str, str]:
    """(group, key) whose budget this call spends."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "api-key", hashlib.sha256(token.strip().encode()).hexdigest()
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return "api-key", f"user:{user.pk}"
    return "api-ip", client_ip(request)


@dataclass(frozen=True)
class Budget:
    """One fixed-window counter: django-ratelimit's group, the caller's key in it, the rate."""

    group: str
    key: str
    rate: str


# KEYS: the budgets' counters; ARGV[1]: the limit of the gate KEYS[1] (read, never counted: a
# gate at or over its limit answers its count alone and nothing is counted), or "" for no gate;
# ARGV[1 + i]: the seconds KEYS[i] lives once created. Answers the counts in KEYS order.
_COUNT_SCRIPT = """
local counts = {}
local first = 1
if ARGV[1] ~= '' then
  counts[1] = tonumber(redis.call('GET', KEYS[1]) or '0')
  if counts[1] >= tonumber(ARGV[1]) then return counts end
  first = 2
end
for i = first, #KEYS do
  counts[i] = redis.call('INCR', KEYS[i])
  if counts[i] == 1 then redis.call('EXPIRE', KEYS[i], ARGV[1 + i]) end
end
return counts
"""
_scripts: dict[str, Any] = {}
_scripts_lock = threading.Lock()


def _redis_script(cache: RedisCache) -> Any:
    """The counting script bound to one redis-py client per Redis location, made once per process:
    Django's cache builds a new client object for every command, which costs more CPU than the
    round trip (redis-py fills a table of ~170 response callbacks each time)."""
    location = str(cache._servers[0])  # type: ignore[attr-defined]
    script = _scripts.get(location)
    if script is None:
        with _scripts_lock:
            script = _scripts.get(location)
            if script is None:
                client = cache._cache.get_client(write=True)
                script = _scripts[location] = client.register_script(_COUNT_SCRIPT)
    return script


def _window(budget: Budget) -> tuple[str, int, int]:
    """(django-ratelimit's cache key, its window's end, the window's seconds) for this call."""
    period = rate_of(budget.rate)[1]
    window = ratelimit_core._get_window(budget.key, period)
    key = ratelimit_core._make_cache_key(
        budget.group, window, budget.rate, budget.key, ratelimit_core.ALL
    )
    return key, window, period


def _count(
    request: HttpRequest, budgets: Sequence[Budget], *, gate: Budget | None = None
) -> list[Usage]:
    """Count this call against every budget; with a gate, read the gate's budget first and, when
    it is used up, count nothing and answer the gate's usage alone. Usages in order (gate first)."""
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    if not isinstance(cache, RedisCache):
        return _count_one_by_one(request, budgets, gate=gate)
    everything = [gate, *budgets] if gate is not None else list(budgets)
    windows = [_window(budget) for budget in everything]
    counts = _redis_script(cache)(
        keys=[cache.make_and_validate_key(key) for key, _, _ in windows],
        args=[
            rate_of(gate.rate)[0] if gate is not None else "",
            *(period + ratelimit_core.EXPIRATION_FUDGE for _, _, period in windows),
        ],
    )
    now = int(ratelimit_core.time.time())
    return [
        Usage(
            limit=rate_of(budget.rate)[0],
            count=int(count),
            seconds_left=max(window - now, 0),
            window=period,
        )
        for budget, (_, window, period), count in zip(everything, windows, counts, strict=False)
    ]


def _count_one_by_one(
    request: HttpRequest, budgets: Sequence[Budget], *, gate: Budget | None
) -> list[Usage]:
    """`_count` through django-ratelimit, one budget at a time (the local caches)."""
    usages = []
    if gate is not None:
        usages.append(_usage(request, gate, increment=False))
        if usages[0].count >= usages[0].limit:
            return usages
    return usages + [_usage(request, budget, increment=True) for budget in budgets]


def _usage(request: HttpRequest, budget: Budget, *, increment: bool) -> Usage:
    usage = get_usage(
        request,
        group=budget.group,
        key=lambda _group, _request: budget.key,
        rate=budget.rate,
        increment=increment,
    )
    return Usage(
        limit=usage["limit"],
        count=usage["count"],
        seconds_left=max(usage["time_left"], 0),
        window=rate_of(budget.rate)[1],
    )


def _expensive_rate(request: HttpRequest) -> tuple[str, str] | None:
    """(budget name, rate) when this call is one of the expensive operations."""
    operation = f"{request.method} {request.path.rstrip('/')}"
    rate = settings.API_RATE_LIMIT_EXPENSIVE.get(operation)
    return (operation, rate) if rate else None


def _webhook_source(request: HttpRequest) -> str:
    """The vendor and whom it speaks for: `shopify` + the shop's domain, `woocommerce/<store>`,
    `supplier/<slug>`, `stripe`, `stripe/connect`."""
    parts = request.path[len(WEBHOOK_PREFIX) :].strip("/").split("/")
    source = "/".join(parts[:2])[:200]
    shop = request.headers.get("X-Shopify-Shop-Domain", "")[:255]
    return f"{source}@{shop}" if shop else source


def _too_many(usage: Usage, detail: str) -> HttpResponse:
    wait = max(usage.seconds_left, 1)
    return problem_response(
        status=429,
        detail=f"{detail} Retry in {wait} seconds.",
        headers={**usage.headers(), "Retry-After": str(wait)},
    )


def _as_problem(response: HttpResponse) -> HttpResponse:
    """Django's own error pages (HTML or plain text) in the API's error shape."""
    if response.status_code < 400 or is_problem(response):
        return response
    content_type = response.get("Content-Type", "")
    detail = HTTPStatus(response.status_code).phrase + "."
    if content_type.startswith("application/json"):
        try:
            body = json.loads(response.content)
        except ValueError:
            body = {}
        detail = str(body.get("detail", detail)) if isinstance(body, dict) else detail
    elif response.status_code == 404:
        detail = "There is no such API operation; see /api/v1/docs."
    converted = problem_response(status=response.status_code, detail=detail)
    for header in ("Allow", "WWW-Authenticate", "Retry-After"):
        if header in response:
            converted[header] = response[header]
    return converted


class ApiGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(WEBHOOK_PREFIX):
            return self._webhook(request)
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        ip = client_ip(request)
        failures = Budget("api-auth-failures", ip, settings.API_RATE_LIMIT_AUTH_FAILURES_PER_IP)
        group, key = _caller(request)
        budgets = (
            [
                Budget(group, key, settings.API_RATE_LIMIT_PER_KEY),
                Budget("api-ip-total", ip, settings.API_RATE_LIMIT_PER_IP_TOTAL),
            ]
            if group == "api-key"
            else [Budget(group, key, settings.API_RATE_LIMIT_PER_IP)]
        )
        if expensive := _expensive_rate(request):
            operation, rate = expensive
            budgets.append(Budget(f"api-cost:{operation}", key, rate))
        gate, *usages = _count(request, budgets, gate=failures)
        if not usages:
            return _too_many(gate, "Too many failed authentication attempts from your address.")
        if over := [usage for usage in usages if usage.is_over]:
            return _too_many(
                max(over, key=lambda usage: usage.seconds_left), "Rate limit exceeded."
            )
        response = _as_problem(self.get_response(request))
        if response.status_code == 401:
            _count(request, [failures])
        closest = min(usages, key=lambda usage: (usage.remaining, -usage.seconds_left))
        for name, value in closest.headers().items():
            response[name] = value
        return response

    def _webhook(self, request: HttpRequest) -> HttpResponse:
        (usage,) = _count(
            request,
            [
                Budget(
                    "webhook-source",
                    _webhook_source(request),
                    settings.WEBHOOK_RATE_LIMIT_PER_SOURCE,
                )
            ],
        )
        if usage.is_over:
            return _too_many(usage, "Too many webhook deliveries from this source.")
        return self.get_response(request)
