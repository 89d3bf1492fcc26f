"""Supplier inventory feeds: a CSV or JSON URL polled every 5 minutes for stock levels.

- Every fetch goes through the safe-call helper (DESIGN.md invariant 7): no private address,
  always a timeout and a size limit.
- Conditional GET: the ETag and Last-Modified of the last good answer are sent back; a 304
  costs nothing else.
- The column mapping is the import wizard's (`catalog.imports.mapping`): SKU and stock columns,
  matched by header when the supplier did not choose.
- Only rows whose quantity differs from the feed as last applied are applied, through the one
  stock service (`catalog.services.set_stock_levels`, source FEED), which marks the listings
  dirty for the inventory sync. Garbage rows are reported, good rows applied.
- A fetch that fails (timeout, 4xx/5xx, HTML, unreadable) or a feed with no success for an hour
  opens an incident: one notification and one email per incident, closed by the next success.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from catalog.imports.mapping import MappingError, auto_map, clean_mapping
from catalog.imports.rows import CellError, parse_whole_number
from catalog.models import StockMovement, Variant
from catalog.services.stock import MAX_STOCK_QUANTITY, set_stock_levels
from dropship.accounts.models import Notification
from dropship.accounts.services import email_organisation, notify
from dropship.core.errors import DomainError, PermanentError, TemporaryError
from dropship.core.spreadsheets import ImportFileError, inspect_file, iter_data_rows
from integrations.safe_http import UnsafeURLError, safe_request, validate_url
from suppliers.models import Supplier, SupplierFeed

STALE_AFTER = timedelta(hours=1)
MAX_FEED_BYTES = 20 * 1024 * 1024
MAX_REJECTED_SAMPLES = 50
# What a poll writes (never the settings a supplier may be editing at the same time).
POLL_FIELDS = [
    "etag",
    "last_modified",
    "last_quantities",
    "last_fetch_at",
    "last_success_at",
    "last_change_at",
    "last_status",
    "last_error",
    "last_rows",
    "last_applied",
    "last_rejected",
    "rejected_samples",
    "health",
    "incident_open",
    "incident_alerted_at",
    "updated_at",
]
JSON_LIST_KEYS = ("items", "inventory", "products", "variants", "data", "stock")


class FeedError(DomainError):
    """The feed could not be read (answer, format, mapping): the message says why."""


@dataclass
class ParsedFeed:
    quantities: dict[str, int] = field(default_factory=dict)
    rejected: list[dict] = field(default_factory=list)  # {"row", "message"}
    rows: int = 0
    headers: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)


@dataclass
class PollResult:
    outcome: str  # "not_modified" | "applied" | "failed" | "skipped"
    rows: int = 0
    changed: int = 0
    applied: int = 0
    rejected: int = 0
    error: str = ""


# --- settings ------------------------------------------------------------------------------------
def save_feed(
    *, supplier: Supplier, url: str, format: str, mapping: dict | None, is_enabled: bool
) -> SupplierFeed:
    url = (url or "").strip()
    if not url:
        raise FeedError("Enter the feed's address.", field="url")
    try:
        validate_url(url, resolve=False)
    except UnsafeURLError as exc:
        raise FeedError(str(exc), field="url") from exc
    if format not in SupplierFeed.Format.values:
        raise FeedError("Choose CSV or JSON.", field="format")
    mapping = {str(k): str(v) for k, v in (mapping or {}).items() if v}
    if any(v not in {"sku", "stock"} for v in mapping.values()):
        raise FeedError("A feed maps only the SKU and stock columns.", field="mapping")
    feed, created = SupplierFeed.objects.get_or_create(
        supplier=supplier, defaults={"url": url, "format": format, "mapping": mapping}
    )
    if not created:
        changed = feed.url != url or feed.format != format or feed.mapping != mapping
        feed.url, feed.format, feed.mapping = url, format, mapping
        if changed:  # a new source: forget what the old one said
            feed.etag = feed.last_modified = ""
            feed.last_quantities = {}
    feed.is_enabled = is_enabled
    feed.next_poll_at = timezone.now()
    feed.save()
    return feed


# --- reading -------------------------------------------------------------------------------------
def _rows_from_json(content: bytes) -> tuple[list[str], list[tuple[int, list]]]:
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedError(f"The feed is not valid JSON ({exc}).") from exc
    if isinstance(data, dict):
        data = next((data[k] for k in JSON_LIST_KEYS if isinstance(data.get(k), list)), None)
    if not isinstance(data, list):
        raise FeedError(
            "The JSON feed must be a list of objects, or an object with an “items” list."
        )
    headers: list[str] = []
    for entry in data:
        if isinstance(entry, dict):
            headers += [str(k) for k in entry if str(k) not in headers]
    rows = []
    for number, entry in enumerate(data, start=1):
        if not isinstance(entry, dict):
            rows.append((number, None))
            continue
        rows.append((number, ["" if entry.get(h) is None else str(entry.get(h)) for h in headers]))
    return headers, rows


def _positions(mapping: dict, headers: list[str]) -> dict[str, str]:
    """The wizard's {position: field}; a mapping by column name ({name: field}, what the feed
    page stores, so a reordered file still reads right) is turned into positions."""
    if all(str(key).isdigit() for key in mapping):
        return {str(k): v for k, v in mapping.items()}
    lowered = [h.strip().lower() for h in headers]
    positions: dict[str, str] = {}
    for name, field_name in mapping.items():
        key = str(name).strip().lower()
        if key not in lowered:
            raise FeedError(
                f"The feed has no column “{name}” any more. Its columns: "
                f"{', '.join(headers)[:200]}."
            )
        positions[str(lowered.index(key))] = field_name
    return positions


def parse_feed(*, content: bytes, format: str, mapping: dict | None) -> ParsedFeed:
    head = content.lstrip()[:200].lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        raise FeedError("The feed address answered a web page (HTML), not a CSV or JSON feed.")
    if format == SupplierFeed.Format.JSON:
        headers, rows = _rows_from_json(content)
    else:
        try:
            fileobj = io.BytesIO(content)
            info = inspect_file(fileobj)
        except ImportFileError as exc:
            raise FeedError(f"The CSV feed cannot be read: {exc.message}") from exc
        headers = info.headers
        rows = list(iter_data_rows(fileobj, info))
    chosen = _positions(mapping, headers) if mapping else auto_map(headers)
    try:
        chosen = clean_mapping(headers=headers, mapping=chosen, kind="STOCK")
    except MappingError as exc:
        raise FeedError(
            f"The feed's columns do not fit: {exc.message} Columns: {', '.join(headers)[:200]}."
        ) from exc
    by_field = {name: int(position) for position, name in chosen.items()}
    if "sku" not in by_field or "stock" not in by_field:
        raise FeedError("The feed needs a SKU column and a stock column.")
    parsed = ParsedFeed(headers=headers, mapping=chosen)
    seen: dict[str, int] = {}
    for number, cells in rows:
        parsed.rows += 1
        if cells is None:
            parsed.rejected.append({"row": number, "message": "Not an object."})
            continue
        sku = str(cells[by_field["sku"]] if by_field["sku"] < len(cells) else "").strip()
        raw = str(cells[by_field["stock"]] if by_field["stock"] < len(cells) else "")
        if not sku:
            parsed.rejected.append({"row": number, "message": "The SKU is empty."})
            continue
        if len(sku) > 100:
            parsed.rejected.append({"row": number, "message": "The SKU is longer than 100."})
            continue
        try:
            quantity = parse_whole_number(raw, maximum=MAX_STOCK_QUANTITY)
        except CellError as exc:
            parsed.rejected.append({"row": number, "message": f"{sku}: {exc}"})
            continue
        if quantity is None:
            parsed.rejected.append({"row": number, "message": f"{sku}: the stock is empty."})
            continue
        if sku in seen:
            parsed.rejected.append(
                {"row": number, "message": f"{sku}: duplicate, already in row {seen[sku]}."}
            )
            continue
        seen[sku] = number
        parsed.quantities[sku] = quantity
    return parsed


def fetch(feed: SupplierFeed, *, conditional: bool = True):
    headers = {"Accept": "text/csv, application/json;q=0.9, */*;q=0.1"}
    if conditional and feed.etag:
        headers["If-None-Match"] = feed.etag
    if conditional and feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    try:
        response = safe_request(
            "GET",
            feed.url,
            headers=headers,
            timeout=getattr(settings, "FEED_TIMEOUT_SECONDS", settings.OUTBOUND_TIMEOUT_SECONDS),
            max_bytes=MAX_FEED_BYTES,
        )
    except (TemporaryError, PermanentError) as exc:
        raise FeedError(f"The feed could not be fetched: {exc}") from exc
    if response.status_code == 304:
        return response
    if response.status_code >= 400 or not 200 <= response.status_code < 300:
        raise FeedError(f"The feed address answered HTTP {response.status_code}.")
    content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
    if "text/html" in content_type.lower():
        raise FeedError("The feed address answered a web page (HTML), not a CSV or JSON feed.")
    return response


# --- applying ------------------------------------------------------------------------------------
def _apply(feed: SupplierFeed, parsed: ParsedFeed) -> tuple[int, int, list[dict]]:
    """Apply rows that changed since the last applied feed: (changed, applied, rejected rows)."""
    last = feed.last_quantities or {}
    changed = {sku: q for sku, q in parsed.quantities.items() if last.get(sku) != q}
    rejected: list[dict] = []
    applied = 0
    if changed:
        variants = dict(
            Variant.objects.filter(supplier=feed.supplier, sku__in=list(changed)).values_list(
                "sku", "id"
            )
        )
        for sku in changed:
            if sku not in variants:
                rejected.append(
                    {"row": None, "message": f"{sku}: unknown SKU, not in your catalog."}
                )
        levels = {variants[sku]: q for sku, q in changed.items() if sku in variants}
        if levels:
            result = set_stock_levels(
                supplier=feed.supplier,
                levels=levels,
                source=StockMovement.Source.FEED,
                reference=f"Feed {feed.url}"[:120],
                skip_refused=True,
            )
            applied = len(result.changes) + len(result.unchanged)
            by_id = {v: s for s, v in variants.items()}
            for variant_id, message in result.refused.items():
                rejected.append({"row": None, "message": message})
                changed.pop(by_id[variant_id], None)
        for sku in [s for s in changed if s not in variants]:
            changed.pop(sku)
    feed.last_quantities = {**last, **changed}
    return len(changed), applied, rejected


def poll_feed(*, feed_id: int, force: bool = False) -> PollResult:
    """Fetch and apply one feed if it is due (or `force`). Safe to run twice: the first claims it."""
    now = timezone.now()
    due = SupplierFeed.objects.filter(pk=feed_id, is_enabled=True)
    if not force:
        due = due.filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
    feed = due.select_related("supplier").first()
    if feed is None:
        return PollResult(outcome="skipped")
    next_poll_at = now + timedelta(seconds=feed.poll_interval_seconds)
    claimed = SupplierFeed.objects.filter(pk=feed.pk, next_poll_at=feed.next_poll_at).update(
        next_poll_at=next_poll_at
    )
    if not claimed:
        return PollResult(outcome="skipped")
    feed.next_poll_at = next_poll_at
    feed.last_fetch_at = now
    try:
        response = fetch(feed)
        if response.status_code == 304:
            result = PollResult(outcome="not_modified")
            feed.last_status = "Not modified since the last fetch."
        else:
            parsed = parse_feed(content=response.content, format=feed.format, mapping=feed.mapping)
            with transaction.atomic():
                changed, applied, rejected = _apply(feed, parsed)
            rejected = parsed.rejected + rejected
            result = PollResult(
                outcome="applied",
                rows=parsed.rows,
                changed=changed,
                applied=applied,
                rejected=len(rejected),
            )
            headers = {k.lower(): v for k, v in response.headers.items()}
            feed.etag = headers.get("etag", "")[:255]
            feed.last_modified = headers.get("last-modified", "")[:64]
            feed.last_rows, feed.last_applied, feed.last_rejected = (
                parsed.rows,
                applied,
                len(rejected),
            )
            feed.rejected_samples = rejected[:MAX_REJECTED_SAMPLES]
            if changed:
                feed.last_change_at = now
            feed.last_status = (
                f"{parsed.rows:,} rows read, {changed:,} changed, {len(rejected):,} rejected."
            )
    except FeedError as exc:
        feed.last_error = exc.message[:500]
        feed.health = SupplierFeed.Health.FAILING
        feed.last_status = "Failed."
        _open_incident(feed, reason=exc.message)
        feed.save(update_fields=POLL_FIELDS)
        return PollResult(outcome="failed", error=exc.message)
    feed.last_success_at = now
    feed.last_error = ""
    feed.health = SupplierFeed.Health.OK
    if feed.incident_open:
        feed.incident_open = False
        notify(
            organisation=feed.supplier,
            kind="feed.recovered",
            message="Your inventory feed is working again.",
            url=reverse("suppliers:feed"),
        )
    feed.save(update_fields=POLL_FIELDS)
    return result


def _open_incident(feed: SupplierFeed, *, reason: str) -> None:
    """Tell the supplier once per incident (notification + email)."""
    if feed.incident_open:
        return
    feed.incident_open = True
    feed.incident_alerted_at = timezone.now()
    url = reverse("suppliers:feed")
    message = f"Your inventory feed is not working: {reason}"
    notify(
        organisation=feed.supplier,
        kind="feed.failing",
        level=Notification.Level.ERROR,
        message=message[:500],
        url=url,
    )
    email_organisation(
        organisation=feed.supplier,
        subject="Your Dropship inventory feed is not working",
        message=(
            f"{message}\n\nRetailers keep seeing your last good stock levels until the feed "
            f"works again. Check it here: {settings.SITE_URL}{url}\n"
        ),
    )


def mark_stale_feeds() -> int:
    """Feeds without a successful fetch for an hour: STALE, and the supplier is told once."""
    limit = timezone.now() - STALE_AFTER
    stale = (
        SupplierFeed.objects.filter(is_enabled=True)
        .filter(
            Q(last_success_at__lt=limit) | Q(last_success_at__isnull=True, created_at__lt=limit)
        )
        .exclude(health=SupplierFeed.Health.STALE, incident_open=True)
    )
    count = 0
    for feed in stale.select_related("supplier"):
        with transaction.atomic():
            feed = (
                SupplierFeed.objects.select_for_update().select_related("supplier").get(pk=feed.pk)
            )
            if feed.health != SupplierFeed.Health.STALE:
                feed.health = SupplierFeed.Health.STALE
            _open_incident(feed, reason="no successful fetch for over an hour.")
            feed.save(update_fields=POLL_FIELDS)
        count += 1
    return count


def poll_due_feeds() -> int:
    """Beat (every minute): poll each feed that is due; flag stale ones."""
    from suppliers.tasks import poll_feed_task  # local: suppliers.tasks imports this module

    now = timezone.now()
    ids = list(
        SupplierFeed.objects.filter(is_enabled=True, supplier__status=Supplier.Status.ACTIVE)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .values_list("pk", flat=True)
    )
    for feed_id in ids:
        poll_feed_task.delay(feed_id)
    mark_stale_feeds()
    return len(ids)


def read_headers(*, content: bytes, format: str) -> list[str]:
    if format == SupplierFeed.Format.JSON:
        return _rows_from_json(content)[0]
    try:
        return inspect_file(io.BytesIO(content)).headers
    except ImportFileError as exc:
        raise FeedError(f"The CSV feed cannot be read: {exc.message}") from exc


def mapping_from_names(*, headers: list[str], sku: str, stock: str) -> dict[str, str]:
    """{column name: field} from the names a supplier typed (checked case-insensitively)."""
    mapping: dict[str, str] = {}
    lowered = [h.strip().lower() for h in headers]
    for name, field_name in ((sku, "sku"), (stock, "stock")):
        if not name:
            continue
        if name.strip().lower() not in lowered:
            raise FeedError(
                f"The feed has no column “{name}”. Its columns: {', '.join(headers)[:200]}.",
                field=f"{field_name}_column",
            )
        mapping[headers[lowered.index(name.strip().lower())]] = field_name
    return mapping


def preview_feed(*, feed: SupplierFeed, sku_column: str = "", stock_column: str = "") -> ParsedFeed:
    """The "Test feed" button: fetch and read it without applying anything. Column names the
    supplier typed become the feed's mapping."""
    response = fetch(feed, conditional=False)
    if sku_column or stock_column:
        headers = read_headers(content=response.content, format=feed.format)
        feed.mapping = mapping_from_names(headers=headers, sku=sku_column, stock=stock_column)
        feed.save(update_fields=["mapping", "updated_at"])
    return parse_feed(content=response.content, format=feed.format, mapping=feed.mapping)
