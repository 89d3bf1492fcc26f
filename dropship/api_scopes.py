"""Which scope an API call needs: the one map of URL path prefixes to areas.

A key holds scopes per area and access (`orders:read`, `orders:write`, ...); GET and HEAD need
read, every other method write. The key authentication (dropship/api_auth.py) looks the area up
here by the longest matching prefix (whole path segments; `*` stands for one or more segments, as a SKU may hold a slash, so
`/supplier/variants/*/inventory` is stock while the rest of `/supplier/variants` is catalog). A path in no area is refused to every
key (fail closed): a new router must add its prefix here, and tests/test_api_scopes.py walks the
OpenAPI document and fails for any operation the map does not cover. Dashboard session calls do
not use scopes; the member's role decides.
"""

from __future__ import annotations

import re

from dropship.accounts.models import SCOPE_AREAS

API_ROOT = "/api/v1"

# Prefix (below /api/v1) -> area. ANY_KEY: every valid key may call it (the key's own details).
ANY_KEY = ""
AREA_BY_PREFIX: dict[str, str] = {
    "/me": ANY_KEY,
    # supplier side
    "/supplier/products": "catalog",
    "/supplier/variants": "catalog",
    "/supplier/variants/*/inventory": "stock",
    "/supplier/inventory": "stock",
    "/supplier/orders": "orders",
    "/supplier/returns": "orders",
    "/supplier/shipping-rates": "catalog",
    # retailer side
    "/suppliers": "catalog",
    "/catalog": "catalog",
    "/products/import": "stores",
    "/jobs": "stores",
    "/stores": "stores",
    "/listings": "catalog",
    "/pricing-rules": "catalog",
    "/sync": "stores",
    "/orders": "orders",
    "/returns": "orders",
    "/analytics": "orders",
    # both sides
    "/cases": "orders",
    "/billing": "billing",
    # both sides
    "/threads": "orders",
}

_PATTERNS = {
    prefix: re.compile(
        "/".join(
            "[^/]+(?:/[^/]+)*" if part == "*" else re.escape(part) for part in prefix.split("/")
        )
        + "(?:/|$)"
    )
    for prefix in AREA_BY_PREFIX
}

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def area_for_path(path: str) -> str | None:
    """The area of an address under /api/v1 (ANY_KEY for the key's own details), None when no
    prefix covers it."""
    if not path.startswith(API_ROOT + "/"):
        return None
    rest = path[len(API_ROOT) :].rstrip("/") or "/"
    best: str | None = None
    best_length = -1
    for prefix, area in AREA_BY_PREFIX.items():
        if len(prefix) > best_length and _PATTERNS[prefix].match(rest):
            best, best_length = area, len(prefix)
    return best


def required_scope(*, method: str, path: str) -> str | None:
    """`area:read` or `area:write` for this call; "" when any valid key may make it; None when the
    path is in no area (refuse it)."""
    area = area_for_path(path)
    if area is None or area == ANY_KEY:
        return area
    assert area in SCOPE_AREAS, area  # noqa: S101  # the map names only known areas
    access = "read" if method.upper() in READ_METHODS else "write"
    return f"{area}:{access}"
