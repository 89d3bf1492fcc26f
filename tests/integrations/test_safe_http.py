"""The one safe-call helper refuses private, loopback and metadata addresses before connecting."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations import safe_http
from integrations.safe_http import ResponseTooLargeError, UnsafeURLError, safe_request, validate_url


@pytest.fixture(autouse=True)
def no_outside_connections(monkeypatch):
    """Fail loudly if anything tries to open a socket to an address that is not loopback."""
    real = safe_http.urllib3_connection.create_connection
    attempted = []

    def guarded(address, *args, **kwargs):
        attempted.append(address[0])
        if address[0] not in {"127.0.0.1", "::1"}:
            raise AssertionError(f"a connection to {address[0]} was attempted")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(safe_http.urllib3_connection, "create_connection", guarded)
    return attempted


@pytest.fixture
def local_server():
    """A loopback server: / answers 200, /redirect sends the client to the `Location` asked for."""
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            if self.path.startswith("/redirect?to="):
                self.send_response(302)
                self.send_header("Location", self.path.split("=", 1)[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b"x" * (5000 if self.path == "/big" else 2)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://[fd00::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://192.168.1.10/",
        "http://100.100.100.200/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
    ],
)
def test_refuses_private_link_local_and_reserved_addresses(settings, url, no_outside_connections):
    settings.ALLOW_LOOPBACK_URLS = False
    with pytest.raises(UnsafeURLError, match="private, loopback or reserved"):
        safe_request("GET", url)
    assert no_outside_connections == []


def test_refuses_loopback_when_it_is_not_allowed(settings, local_server, no_outside_connections):
    settings.ALLOW_LOOPBACK_URLS = False
    base, hits = local_server
    with pytest.raises(UnsafeURLError):
        safe_request("GET", base + "/")
    assert hits == []
    assert no_outside_connections == []


def test_allows_loopback_for_the_sandboxes_when_allowed(settings, local_server):
    settings.ALLOW_LOOPBACK_URLS = True
    base, hits = local_server
    response = safe_request("GET", base + "/")
    assert (response.status_code, response.content, hits) == (200, b"xx", ["/"])


def test_refuses_a_hostname_that_resolves_to_a_private_address(
    settings, monkeypatch, no_outside_connections
):
    settings.ALLOW_LOOPBACK_URLS = True
    monkeypatch.setattr(safe_http, "resolve_host", lambda host, port: ["10.1.2.3"])
    with pytest.raises(UnsafeURLError, match=r"shop\.example\.com resolves to 10\.1\.2\.3"):
        safe_request("GET", "https://shop.example.com/wp-json/")
    assert no_outside_connections == []


def test_refuses_a_host_with_one_private_address_among_public_ones(monkeypatch):
    monkeypatch.setattr(safe_http, "resolve_host", lambda host, port: ["93.184.215.14", "10.0.0.7"])
    with pytest.raises(UnsafeURLError, match=r"10\.0\.0\.7"):
        safe_http.resolve_and_check("mixed.example.com", 443)


def test_refuses_a_redirect_to_a_private_address(settings, local_server, no_outside_connections):
    settings.ALLOW_LOOPBACK_URLS = True
    base, hits = local_server
    with pytest.raises(UnsafeURLError, match=r"169\.254\.169\.254"):
        safe_request("GET", base + "/redirect?to=http://169.254.169.254/latest/meta-data/")
    assert hits == ["/redirect?to=http://169.254.169.254/latest/meta-data/"]
    assert no_outside_connections == ["127.0.0.1"]


def test_follows_a_redirect_that_stays_allowed(settings, local_server):
    settings.ALLOW_LOOPBACK_URLS = True
    base, hits = local_server
    response = safe_request("GET", f"{base}/redirect?to={base}/")
    assert response.status_code == 200
    assert hits == [f"/redirect?to={base}/", "/"]


def test_caps_the_response_size(settings, local_server):
    settings.ALLOW_LOOPBACK_URLS = True
    base, _ = local_server
    with pytest.raises(ResponseTooLargeError):
        safe_request("GET", base + "/big", max_bytes=1000)


def test_validate_url_requires_https_except_for_loopback_sandboxes(settings):
    settings.ALLOW_LOOPBACK_URLS = True
    assert validate_url("http://127.0.0.1:8102/shop/") == "http://127.0.0.1:8102/shop"
    assert (
        validate_url("http://127.0.0.1:8102/shop", require_https=True)
        == "http://127.0.0.1:8102/shop"
    )
    with pytest.raises(UnsafeURLError, match="https://"):
        validate_url("ftp://example.com")
    with pytest.raises(UnsafeURLError, match="user name"):
        validate_url("https://user:pw@127.0.0.1/")
    settings.ALLOW_LOOPBACK_URLS = False
    with pytest.raises(UnsafeURLError):
        validate_url("http://127.0.0.1:8102/shop", require_https=True)
