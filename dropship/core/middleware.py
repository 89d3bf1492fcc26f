"""One guard for the input every page, API call and webhook receives, before any view runs.

- A NUL or other control character in the address, a query or form field, or a header answers
  400 naming where it is (PostgreSQL refuses NUL in text, so it used to surface as a 500 from
  whichever query first used the value). Tab, CR and LF are allowed in fields (text areas),
  tab only in headers, none in the address.
- A body over DATA_UPLOAD_MAX_MEMORY_SIZE answers 413 (Django's own check answers 400, or a 500
  from a view that reads the body in DEBUG), before it is read when Content-Length says so.
Answers are problem details (dropship/core/problems.py) under /api/ and /webhooks/, plain text
elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from dropship.core.problems import problem_response

# C0 controls and DEL, except tab, LF and CR which text areas send.
_FIELD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_MACHINE_PREFIXES = ("/api/", "/webhooks/")


def _answer(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith(_MACHINE_PREFIXES):
        return problem_response(status=status, detail=message)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _bad_field(items: Iterable[tuple[str, list]], where: str) -> str:
    for name, values in items:
        if _FIELD_CONTROL.search(name):
            return f"A {where} name contains a control character."
        for value in values:
            if isinstance(value, str) and _FIELD_CONTROL.search(value):
                return f"The {where} “{name[:40]}” contains a control character."
    return ""


def _bad_header(request: HttpRequest) -> str:
    for key, value in request.META.items():
        if not (key.startswith("HTTP_") or key in {"CONTENT_TYPE", "CONTENT_LENGTH"}):
            continue
        if isinstance(value, str) and _HEADER_CONTROL.search(value):
            name = key.removeprefix("HTTP_").replace("_", "-").title()
            return f"The header {name} contains a control character."
    return ""


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RejectBadInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _PATH_CONTROL.search(request.path_info):
            return _answer(request, 400, "The address contains a control character.")
        if problem := _bad_header(request):
            return _answer(request, 400, problem)
        if problem := _bad_field(request.GET.lists(), "query parameter"):
            return _answer(request, 400, problem)
        content_type = request.content_type or ""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if (
            limit is not None
            and content_type != "multipart/form-data"  # files may be larger; fields are capped
            and _declared_length(request) > limit
        ):
            return self._too_large(request)
        if request.method == "POST" and content_type in _FORM_TYPES:
            try:
                fields = list(request.POST.lists())
                file_names = [
                    (name, [f.name for f in files]) for name, files in request.FILES.lists()
                ]
            except RequestDataTooBig:
                return self._too_large(request)
            if problem := _bad_field([*fields, *file_names], "form field"):
                return _answer(request, 400, problem)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view that reads a chunked body past the limit."""
        if isinstance(exception, RequestDataTooBig):
            return self._too_large(request)
        return None

    @staticmethod
    def _too_large(request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return _answer(
            request, 413, f"The request body is larger than the limit of {limit:,} bytes."
        )
