"""How every inbound webhook endpoint answers its sender (DESIGN "Interfaces"): a JSON
`{"detail": ...}` with 200 for accepted and duplicate deliveries, 401 for a bad or missing
signature, 400 for a malformed body and 404 for a sender we do not know."""

from __future__ import annotations

from django.http import JsonResponse


def webhook_answer(status: int, message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)
