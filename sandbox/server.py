"""A tiny HTTP server shell shared by the sandboxes (stdlib only, no Django).

A sandbox is an object with `handle(request) -> Response`; `SandboxServer` serves it on a
ThreadingHTTPServer, in the foreground (`python -m sandbox ...`) or in a thread
(tests, port 0).
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    raw_path: str = ""

    @property
    def query_dict(self) -> dict[str, str]:
        return dict(self.query)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # A "lost answer": the work behind the request is done (committed), then the connection is
    # closed before a single byte of the answer is sent, as when a proxy or the network drops it.
    dropped: bool = False

    @classmethod
    def lost(cls) -> Response:
        return cls(status=0, dropped=True)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None):
        return cls(
            status=status,
            body=json.dumps(data).encode(),
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    @classmethod
    def html(cls, text: str, status: int = 200):
        return cls(status=status, body=text.encode(), headers={"Content-Type": "text/html"})

    @classmethod
    def redirect(cls, location: str):
        return cls(status=302, headers={"Location": location})


class App(Protocol):
    def handle(self, request: Request) -> Response: ...


def _handler_for(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qsl(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                raw_path=self.path,
            )
            try:
                response = app.handle(request)
            except Exception as exc:  # a sandbox bug must show, not hang the client
                response = Response.json({"errors": f"sandbox error: {exc!r}"}, status=500)
            if response.dropped:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            try:
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout test): nothing to say

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            if getattr(app, "verbose", False):
                super().log_message(format, *args)

    return Handler


class SandboxServer:
    def __init__(self, app: App, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(app))
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.httpd.server_address[0]}:{self.port}"

    def start(self) -> SandboxServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Delivery:
    url: str
    topic: str
    status: int
    body: bytes
    headers: dict[str, str]
    error: str = ""


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10) -> tuple[int, str]:
    """POST as a platform would deliver a webhook; returns (status, error text)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")[:500]
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)
