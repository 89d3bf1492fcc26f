"""The one error shape of the JSON API: RFC 9457 problem details (`application/problem+json`).

    {"type": "about:blank", "title": "Unprocessable Content", "status": 422,
     "code": "validation_error", "detail": "page: Input should be less than or equal to 10000",
     "field": "page", "errors": [{"field": "page", "code": "less_than_equal", "message": "…"}]}

`code` is stable and machine-readable; `detail` is for people; `field` names the offending input
when there is one and `errors` lists every field a validation error found. The API, the input
guard and the rate limiter all answer through `problem_response`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus

from django.http import JsonResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"

DEFAULT_CODES = {
    400: "bad_request",
    401: "authentication_required",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
}


def problem_body(
    *,
    status: int,
    detail: str,
    code: str | None = None,
    field: str | None = None,
    errors: Iterable[Mapping[str, str]] = (),
) -> dict[str, object]:
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code or DEFAULT_CODES.get(status, "error"),
        "detail": detail,
        "field": field,
        "errors": [dict(error) for error in errors],
    }


def problem_response(
    *,
    status: int,
    detail: str,
    code: str | None = None,
    field: str | None = None,
    errors: Iterable[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    response = JsonResponse(
        problem_body(status=status, detail=detail, code=code, field=field, errors=errors),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def is_problem(response: object) -> bool:
    content_type = getattr(response, "get", lambda *_: "")("Content-Type", "") or ""
    return content_type.startswith(PROBLEM_CONTENT_TYPE)
