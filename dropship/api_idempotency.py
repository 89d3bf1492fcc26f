"""`Idempotency-Key` on every write of the JSON API (POST, PUT, PATCH, DELETE under /api/v1/), as
Stripe honours it: a client that lost the answer sends the call again with the same key and gets
the first answer instead of a second order or stock change.

- Same key, same request (method, path and body hashed) within API_IDEMPOTENCY_TTL (24 h): the
  first answer (status, body, headers) is replayed with `Idempotent-Replayed: true`.
- Same key, another request: 422 `idempotency_key_reused`.
- Same key while the first call is still being answered: 409 `idempotency_key_in_progress`.
- Keys belong to the caller's organisation (a supplier's and a retailer's never meet). Server
  errors (5xx) and refusals before the operation ran (401, 403, 409) are not kept, so the call can
  be sent again. A call without the header is not affected.
One middleware, inside the rate limiter, so every router gets it without code of its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.request import RawPostDataException
from django.utils import timezone

from dropship.accounts.models import ApiKey, hash_token
from dropship.accounts.selectors import get_membership
from dropship.accounts.services import (
    IdempotencyState,
    claim_idempotency_key,
    record_idempotent_answer,
    release_idempotency_key,
)
from dropship.api_scopes import required_scope
from dropship.core.problems import problem_response
from retailers.models import Retailer
from suppliers.models import Supplier

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
API_ROOT = "/api/v1/"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces (a UUID fits)
# Statuses answered before the operation ran: sending the same call again may succeed.
_NOT_KEPT = frozenset({401, 403, 409, 429})
# Set afresh on every answer, never replayed.
_FRESH_HEADERS = ("ratelimit-", "x-ratelimit-", "set-cookie", "vary", "retry-after")


def _caller_organisation(request: HttpRequest) -> Supplier | Retailer | None:
    """Whose keys these are: the bearer key's organisation, or the signed-in member's. None when
    the credentials are missing or bad, or the key lacks the call's scope (the operation answers
    401 or 403 itself, and a key never replays an answer it could not have got)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        now = timezone.now()
        api_key = (
            ApiKey.objects.select_related("supplier", "retailer")
            .filter(key_hash=hash_token(token.strip()), revoked_at__isnull=True)
            .exclude(expires_at__lte=now)
            .first()
        )
        if api_key is None:
            return None
        scope = required_scope(method=request.method or "POST", path=request.path)
        if scope is None or (scope and not api_key.has_scope(scope)):
            return None
        return api_key.organisation
    user = getattr(request, "user", None)
    membership = get_membership(user=user) if user is not None else None
    return membership.organisation if membership is not None else None


def _request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode() + b"\n")
    try:
        digest.update(request.body)
    except RawPostDataException:  # a multipart body the input guard already parsed
        for name, values in sorted(request.POST.lists()):
            digest.update(f"{name}={values!r}\n".encode())
        for name, files in sorted(request.FILES.lists()):
            digest.update(f"{name}={[(f.name, f.size) for f in files]!r}\n".encode())
    return digest.hexdigest()


def _replay(status_code: int, headers: dict[str, str], body: bytes) -> HttpResponse:
    response = HttpResponse(body, status=status_code)
    for name, value in headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _kept_headers(response: HttpResponse) -> dict[str, str]:
    return {
        name: value
        for name, value in response.items()
        if not name.lower().startswith(_FRESH_HEADERS)
    }


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if (
            key is None
            or request.method not in WRITE_METHODS
            or not request.path.startswith(API_ROOT)
        ):
            return self.get_response(request)
        key = key.strip()
        if not _VALID_KEY.match(key):
            return problem_response(
                status=422,
                code="invalid_idempotency_key",
                detail=f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters "
                "without spaces, e.g. a UUID.",
                field=HEADER,
            )
        organisation = _caller_organisation(request)
        if organisation is None:
            return self.get_response(request)
        record, state = claim_idempotency_key(
            organisation=organisation, key=key, request_hash=_request_hash(request)
        )
        if state is IdempotencyState.REPLAY:
            return _replay(
                record.status_code or 200, record.response_headers, bytes(record.response_body)
            )
        if state is IdempotencyState.REUSED:
            return problem_response(
                status=422,
                code="idempotency_key_reused",
                detail=f"This {HEADER} was already used for another request (another body or "
                "address) in the last 24 hours: use a new key for a new request.",
                field=HEADER,
            )
        if state is IdempotencyState.IN_PROGRESS:
            return problem_response(
                status=409,
                code="idempotency_key_in_progress",
                detail=f"The first request with this {HEADER} is still being answered: "
                "wait for it, then send this one again to get its answer.",
                field=HEADER,
                headers={"Retry-After": "1"},
            )
        try:
            response = self.get_response(request)
        except BaseException:
            release_idempotency_key(record=record)
            raise
        if isinstance(response, StreamingHttpResponse) or response.status_code in _NOT_KEPT:
            release_idempotency_key(record=record)
        else:
            record_idempotent_answer(
                record=record,
                status_code=response.status_code,
                headers=_kept_headers(response),
                body=response.content,
            )
        return response
