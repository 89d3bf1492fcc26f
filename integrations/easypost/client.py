"""The EasyPost Trackers API calls we make (https://docs.easypost.com/docs/trackers), HTTP and
JSON only: `POST /trackers` with `{"tracker": {"tracking_code", "carrier"}}` and
`GET /trackers/{id}`, authenticated with the API key as the Basic user name.

Through the safe-call helper (timeout, size cap, no redirects). A timeout, 429 or 5xx is a
TrackingTemporaryError (the caller's task retries), any other refusal a TrackingRequestError
with EasyPost's message. `settings.TRACKING_API_BASE` points it at the sandbox in development
and tests.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from integrations.easypost.mappers import CARRIER_NAMES, to_tracker
from integrations.safe_http import OutboundTemporaryError, safe_request
from integrations.tracking import TrackerData, TrackingRequestError, TrackingTemporaryError

TIMEOUT_SECONDS = 10.0


class EasyPostTrackingClient:
    def __init__(self, *, base_url: str, api_key: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        try:
            response = safe_request(
                method,
                f"{self.base_url}{path}",
                json=payload,
                auth=(self.api_key, ""),
                headers={"Accept": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except OutboundTemporaryError as exc:
            raise TrackingTemporaryError(str(exc)) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TrackingTemporaryError(
                f"The tracking provider answered {response.status_code}; we will try again."
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise TrackingTemporaryError("The tracking provider answered unreadable JSON.") from exc
        if not response.ok:
            error = data.get("error") if isinstance(data, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            raise TrackingRequestError(
                f"The tracking provider refused the request ({response.status_code}): "
                f"{message or response.text[:200]}"
            )
        if not isinstance(data, dict):
            raise TrackingTemporaryError("The tracking provider answered something unexpected.")
        return data

    def create_tracker(self, *, tracking_code: str, carrier: str) -> TrackerData:
        tracker: dict[str, str] = {"tracking_code": tracking_code}
        if carrier in CARRIER_NAMES:
            tracker["carrier"] = CARRIER_NAMES[carrier]
        return to_tracker(self._call("POST", "/trackers", {"tracker": tracker}))

    def get_tracker(self, *, tracker_id: str) -> TrackerData:
        return to_tracker(self._call("GET", f"/trackers/{quote(tracker_id, safe='')}"))
