"""A carrier-tracking provider shaped like EasyPost's Trackers API. Standard library only.

What Dropship relies on (https://docs.easypost.com/docs/trackers, the Tracking Guide
https://docs.easypost.com/guides/tracking-guide and the Webhooks Guide
https://docs.easypost.com/guides/webhooks-guide), modelled here:

    POST /v2/trackers        {"tracker": {"tracking_code", "carrier"?}} -> Tracker (201); the same
                             code and carrier again answers the tracker already made (200)
    GET  /v2/trackers/{id}   -> Tracker, with its whole history in `tracking_details`
    Basic authentication with the API key as the user name (401 otherwise); 404 unknown id;
    422 without a tracking code.

A parcel moves through a script (pre_transit → in_transit → out_for_delivery → delivered), one
step every `step_seconds` of the injectable clock; each step adds a tracking detail and POSTs a
`tracker.updated` Event to `webhook_url`, signed `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256
of the body keyed with the webhook secret>`. Steps fall due on `tick()` (a background thread in
`python -m sandbox carrier`, `POST /_sandbox/tick` in tests).

Control endpoints for the demo and tests (not EasyPost's):
    POST /_sandbox/tick                         apply every step that is due; -> {"delivered": n}
    POST /_sandbox/trackers/advance             every parcel's next step now (the demo's shortcut)
    POST /_sandbox/trackers/{id}/advance        the next step of the script now
    POST /_sandbox/trackers/{id}/events         {"status", "message"?, "datetime"?} add a scan
    POST /_sandbox/webhooks                     {"paused": true|false}: a paused provider keeps
                                                tracking but sends nothing (a quiet parcel)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sandbox.server import Delivery, Request, Response, post
from sandbox.state import StateFile

SCRIPT = (
    ("pre_transit", "Shipping label created, awaiting item", "Origin"),
    ("in_transit", "Arrived at sort facility", "Hub"),
    ("out_for_delivery", "Out for delivery", "Destination"),
    ("delivered", "Delivered, front door", "Destination"),
)
STATUSES = {
    "unknown",
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "available_for_pickup",
    "return_to_sender",
    "failure",
    "cancelled",
    "error",
}
SIGNATURE_HEADER = "X-Hmac-Signature"


def sign(body: bytes, secret: str) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CarrierSandbox:
    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        webhook_url: str = "",
        step_seconds: float = 3600.0,
        clock: Callable[[], float] = time.time,
        verbose: bool = False,
        state_file: StateFile | None = None,
    ) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.step_seconds = step_seconds
        self.clock = clock
        self.verbose = verbose
        self.is_paused = False
        self.trackers: dict[str, dict[str, Any]] = {}
        self.deliveries: list[Delivery] = []
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        self.state_file = state_file
        if state_file is not None:
            saved = state_file.load() or {}
            self.trackers = saved.get("trackers", {})

    def save_state(self) -> None:
        if self.state_file is not None:
            with self.lock:
                self.state_file.save({"trackers": self.trackers})

    # --- the API ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if not path and request.method in ("GET", "HEAD"):
            return Response.json({"sandbox": "carrier tracking", "trackers": len(self.trackers)})
        if path.startswith("/_sandbox/"):
            return self._control(request, path)
        self.calls.append((request.method, path))
        if not self._authorised(request):
            return self._error("APIKEY.INVALID", "The API key is missing or wrong.", 401)
        if request.method == "POST" and path == "/v2/trackers":
            return self._create(request)
        match = re.fullmatch(r"/v2/trackers/([A-Za-z0-9_]+)", path)
        if request.method == "GET" and match:
            tracker = self.trackers.get(match[1])
            if tracker is None:
                return self._error("NOT_FOUND", "The requested resource could not be found.", 404)
            return Response.json(self._public(tracker))
        return self._error("NOT_FOUND", "The requested resource could not be found.", 404)

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
        except ValueError:
            return False
        return secrets.compare_digest(user, self.api_key)

    @staticmethod
    def _error(code: str, message: str, status: int) -> Response:
        return Response.json({"error": {"code": code, "message": message, "errors": []}}, status)

    def _create(self, request: Request) -> Response:
        try:
            payload = request.json()
        except ValueError:
            return self._error("BAD_REQUEST", "The body is not JSON.", 400)
        tracker_in = payload.get("tracker") if isinstance(payload, dict) else None
        code = str((tracker_in or {}).get("tracking_code") or "").strip()
        if not code:
            return self._error("TRACKER.TRACKING_CODE.INVALID", "A tracking_code is required.", 422)
        carrier = str((tracker_in or {}).get("carrier") or "USPS")
        with self.lock:
            for tracker in self.trackers.values():
                if tracker["tracking_code"] == code and tracker["carrier"] == carrier:
                    return Response.json(self._public(tracker))
            now = self.clock()
            tracker = {
                "id": f"trk_{secrets.token_hex(12)}",
                "tracking_code": code,
                "carrier": carrier,
                "created_ts": now,
                "step": 0,
                "details": [],
                "status": "unknown",
                "updated_ts": now,
            }
            self.trackers[tracker["id"]] = tracker
            self._apply_step(tracker, now)  # the label scan comes at once
        self.save_state()
        return Response.json(self._public(tracker), status=201)

    def _public(self, tracker: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": tracker["id"],
            "object": "Tracker",
            "mode": "test",
            "tracking_code": tracker["tracking_code"],
            "carrier": tracker["carrier"],
            "status": tracker["status"],
            "created_at": _iso(tracker["created_ts"]),
            "updated_at": _iso(tracker["updated_ts"]),
            "public_url": f"https://track.easypost.com/{tracker['id']}",
            "tracking_details": [
                {
                    "object": "TrackingDetail",
                    "status": detail["status"],
                    "message": detail["message"],
                    "datetime": _iso(detail["ts"]),
                    "source": tracker["carrier"],
                    "tracking_location": {"object": "TrackingLocation", "city": detail["city"]},
                }
                for detail in tracker["details"]
            ],
        }

    # --- moving parcels ----------------------------------------------------------------------------
    def _apply_step(self, tracker: dict[str, Any], at: float) -> bool:
        if tracker["step"] >= len(SCRIPT) or tracker["status"] == "delivered":
            return False
        status, message, city = SCRIPT[tracker["step"]]
        tracker["step"] += 1
        self._add_detail(tracker, status=status, message=message, city=city, at=at)
        return True

    @staticmethod
    def _add_detail(
        tracker: dict[str, Any], *, status: str, message: str, city: str, at: float
    ) -> None:
        tracker["details"].append({"status": status, "message": message, "city": city, "ts": at})
        latest = max(tracker["details"], key=lambda detail: detail["ts"])
        tracker["status"] = latest["status"]
        tracker["updated_ts"] = max(tracker["updated_ts"], at)

    def tick(self) -> int:
        """Apply every scripted step whose time has come; returns the webhooks sent."""
        now = self.clock()
        moved = []
        with self.lock:
            for tracker in self.trackers.values():
                while tracker["step"] < len(SCRIPT):
                    due = tracker["created_ts"] + tracker["step"] * self.step_seconds
                    if due > now or not self._apply_step(tracker, due):
                        break
                    moved.append(tracker["id"])
        self.save_state()
        return sum(self.send_update(tracker_id) for tracker_id in dict.fromkeys(moved))

    def advance(self, tracker_id: str) -> bool:
        with self.lock:
            moved = self._apply_step(self.trackers[tracker_id], self.clock())
        self.save_state()
        return moved and self.send_update(tracker_id)

    def add_event(self, tracker_id: str, *, status: str, message: str = "", at: float = 0) -> bool:
        with self.lock:
            self._add_detail(
                self.trackers[tracker_id],
                status=status,
                message=message or status.replace("_", " ").capitalize(),
                city="",
                at=at or self.clock(),
            )
        self.save_state()
        return self.send_update(tracker_id)

    # --- webhooks ----------------------------------------------------------------------------------
    def signed_event(self, tracker_id: str) -> tuple[bytes, dict[str, str]]:
        """A `tracker.updated` Event for the tracker as it is now, and its headers."""
        with self.lock:
            result = self._public(self.trackers[tracker_id])
        event = {
            "object": "Event",
            "id": f"evt_{secrets.token_hex(12)}",
            "mode": "test",
            "description": "tracker.updated",
            "created_at": _iso(self.clock()),
            "result": result,
        }
        body = json.dumps(event).encode()
        return body, {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self.webhook_secret),
        }

    def send_update(self, tracker_id: str) -> bool:
        if self.is_paused or not self.webhook_url:
            return False
        body, headers = self.signed_event(tracker_id)
        status, error = post(self.webhook_url, body, headers)
        self.deliveries.append(
            Delivery(self.webhook_url, "tracker.updated", status, body, headers, error)
        )
        return 200 <= status < 300

    def _control(self, request: Request, path: str) -> Response:
        try:
            payload = request.json() if request.body else {}
        except ValueError:
            return Response.json({"error": "The body is not JSON."}, 400)
        payload = payload if isinstance(payload, dict) else {}
        if path == "/_sandbox/tick" and request.method == "POST":
            return Response.json({"delivered": self.tick()})
        if path == "/_sandbox/trackers/advance" and request.method == "POST":
            return Response.json({"sent": sum(self.advance(t) for t in list(self.trackers))})
        if path == "/_sandbox/webhooks" and request.method == "POST":
            self.is_paused = bool(payload.get("paused"))
            return Response.json({"paused": self.is_paused})
        match = re.fullmatch(r"/_sandbox/trackers/([A-Za-z0-9_]+)/(advance|events)", path)
        if match is None or request.method != "POST":
            return Response.json({"error": "Unknown control endpoint."}, 404)
        if match[1] not in self.trackers:
            return Response.json({"error": "Unknown tracker."}, 404)
        if match[2] == "advance":
            return Response.json({"sent": self.advance(match[1])})
        status = str(payload.get("status") or "")
        if status not in STATUSES:
            return Response.json({"error": f"status must be one of {sorted(STATUSES)}"}, 400)
        at = 0.0
        if payload.get("datetime"):
            try:
                at = datetime.fromisoformat(
                    str(payload["datetime"]).replace("Z", "+00:00")
                ).timestamp()
            except ValueError:
                return Response.json({"error": "datetime must be ISO 8601."}, 400)
        sent = self.add_event(
            match[1], status=status, message=str(payload.get("message") or ""), at=at
        )
        return Response.json({"sent": sent})


def run_ticker(app: CarrierSandbox, *, every: float) -> threading.Thread:
    """Advance parcels on their schedule in the background (`python -m sandbox carrier`)."""

    def loop() -> None:
        while True:
            time.sleep(every)
            try:
                app.tick()
            except Exception as exc:  # a failed delivery must not stop the schedule
                if app.verbose:
                    print(f"carrier sandbox tick failed: {exc!r}")  # noqa: T201

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread
