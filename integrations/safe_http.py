"""The one helper for calls to addresses a user typed (DESIGN invariant 7).

Every outbound request to a store, a supplier endpoint or a feed goes through `safe_request`:

- the host is resolved when the connection is opened, and the connection is made to the very
  address that was checked (no second DNS lookup an attacker could answer differently);
- private, link-local (cloud metadata), loopback, multicast, reserved and unspecified IPv4/IPv6
  addresses are refused before a byte is sent; loopback is allowed only with
  `settings.ALLOW_LOOPBACK_URLS` (the sandboxes in development and tests);
- redirects are followed only through the same check (every hop opens a checked connection);
- there is always a timeout and a cap on the response size; proxies from the environment are
  ignored, so nothing routes around the check.
"""

from __future__ import annotations

import ipaddress
import json as jsonlib
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from dropship.core.errors import PermanentError, TemporaryError

MAX_REDIRECTS = 5
USER_AGENT = "Dropship/1.0 (+https://dropship.localhost)"


class UnsafeURLError(PermanentError):
    """The address is not one we may call (scheme, private/loopback/metadata IP, bad host)."""


class OutboundTemporaryError(TemporaryError):
    """Timeout, refused connection or reset: may work later."""


class ResponseTooLargeError(PermanentError):
    pass


# --- address checks ------------------------------------------------------------------------------
def resolve_host(host: str, port: int) -> list[str]:
    """The IP addresses `host` resolves to (kept as a function so tests can stand in for DNS)."""
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def is_address_allowed(address: str, *, allow_loopback: bool | None = None) -> bool:
    if allow_loopback is None:
        allow_loopback = settings.ALLOW_LOOPBACK_URLS
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:10.0.0.1 and 6to4/NAT64 forms smuggle an IPv4 address: judge that address.
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return is_address_allowed(str(mapped), allow_loopback=allow_loopback)
    if ip.is_loopback:
        return bool(allow_loopback)
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved or ip.is_link_local:
        return False
    # is_global is False for private ranges (10/8, 172.16/12, 192.168/16, fc00::/7), shared
    # address space (100.64/10), documentation ranges and the like.
    return ip.is_global


def check_address(host: str, address: str) -> None:
    if not is_address_allowed(address):
        raise UnsafeURLError(
            f"{host} resolves to {address}, a private, loopback or reserved address; "
            "Dropship only calls public internet addresses."
        )


def resolve_and_check(host: str, port: int) -> list[str]:
    """Resolve `host` and return its addresses if every one of them may be called."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
        addresses = [host.strip("[]")]
    except ValueError:
        try:
            addresses = resolve_host(host, port)
        except (socket.gaierror, UnicodeError) as exc:
            raise UnsafeURLError(f"The host name {host} could not be found.") from exc
    if not addresses:
        raise UnsafeURLError(f"The host name {host} could not be found.")
    for address in addresses:
        check_address(host, address)
    return addresses


def validate_url(url: str, *, require_https: bool = False, resolve: bool = True) -> str:
    """Check a URL a user typed before anything is stored or sent; returns it normalised.

    HTTPS is required when asked, except for loopback hosts when loopback is allowed (sandboxes).
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeURLError("Enter a full web address starting with https://.")
    if parts.username or parts.password:
        raise UnsafeURLError("The address must not contain a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURLError("The address has an invalid port.") from exc
    addresses = resolve_and_check(parts.hostname, port) if resolve else []
    if require_https and parts.scheme != "https":
        is_loopback = bool(addresses) and all(
            ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses
        )
        if not (is_loopback and settings.ALLOW_LOOPBACK_URLS):
            raise UnsafeURLError("The address must start with https:// so credentials stay secret.")
    return url.rstrip("/")


# --- the connection classes: check at connect time, connect to the checked address ----------------
def _connect_checked(conn: HTTPConnection) -> socket.socket:
    host = conn._dns_host  # the name urllib3 would have resolved
    addresses = resolve_and_check(host, conn.port)
    last_error: OSError | None = None
    for address in addresses:
        try:
            return urllib3_connection.create_connection(
                (address, conn.port),
                conn.timeout,
                source_address=conn.source_address,
                socket_options=conn.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                conn, f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
            ) from exc
        except OSError as exc:
            last_error = exc
    raise NewConnectionError(conn, f"Failed to establish a new connection: {last_error}")


class SafeHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_checked(self)


class SafeHTTPSConnection(HTTPSConnection):
    # TLS still verifies the certificate against the host name (SNI uses self.host).
    def _new_conn(self) -> socket.socket:
        return _connect_checked(self)


class SafeHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = SafeHTTPConnection


class SafeHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = SafeHTTPSConnection


class SafeAdapter(HTTPAdapter):
    """A requests adapter whose every connection goes through the address check."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": SafeHTTPConnectionPool,
            "https": SafeHTTPSConnectionPool,
        }

    def proxy_manager_for(
        self, proxy: str, **proxy_kwargs: Any
    ) -> NoReturn:  # pragma: no cover - guard
        raise UnsafeURLError("Outbound calls do not go through proxies.")


def build_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies or netrc from the environment
    session.max_redirects = MAX_REDIRECTS
    adapter = SafeAdapter(max_retries=0, pool_connections=4, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


_local = threading.local()


def get_session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = build_session()
    return session


@dataclass
class SafeResponse:
    status_code: int
    headers: dict[str, str]
    content: bytes
    url: str
    history: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def safe_request(
    method: str,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    json: Any = None,
    data: bytes | str | dict[str, Any] | None = None,
    auth: Any = None,
    timeout: float | None = None,
    max_bytes: int | None = None,
    allow_redirects: bool = True,
) -> SafeResponse:
    """Make one checked HTTP request and return the whole (size-capped) response."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeURLError(f"Refusing to call {parts.scheme or 'a'} URL without a host.")
    timeout = timeout if timeout is not None else settings.OUTBOUND_TIMEOUT_SECONDS
    max_bytes = max_bytes if max_bytes is not None else settings.OUTBOUND_MAX_RESPONSE_BYTES
    try:
        response = get_session().request(
            method,
            url,
            params=params,
            headers=headers,
            json=json,
            data=data,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
            stream=True,
        )
    except requests.TooManyRedirects as exc:
        raise PermanentError(f"Too many redirects calling {parts.hostname}.") from exc
    except (requests.Timeout, requests.ConnectionError) as exc:
        cause = exc.__context__ or exc
        if isinstance(cause, UnsafeURLError):  # pragma: no cover - raised directly today
            raise cause from None
        raise OutboundTemporaryError(
            f"Could not reach {parts.hostname}: {type(exc).__name__}."
        ) from exc
    try:
        declared = int(response.headers.get("Content-Length") or 0)
        if declared > max_bytes:
            raise ResponseTooLargeError(
                f"{parts.hostname} answered {declared} bytes; the limit is {max_bytes}."
            )
        chunks: list[bytes] = []
        received = 0
        try:
            for chunk in response.iter_content(chunk_size=65536):
                received += len(chunk)
                if received > max_bytes:
                    raise ResponseTooLargeError(
                        f"{parts.hostname} answered more than {max_bytes} bytes."
                    )
                chunks.append(chunk)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise OutboundTemporaryError(
                f"{parts.hostname} stopped answering: {type(exc).__name__}."
            ) from exc
        return SafeResponse(
            status_code=response.status_code,
            headers=dict(response.headers),
            content=b"".join(chunks),
            url=response.url,
            history=[r.url for r in response.history],
        )
    finally:
        response.close()
