"""The embedded default works: `make run` on SQLite and kombu's filesystem broker, walked over HTTP.

One stack is started for the module; its tests walk it as README.md tells a new user to: log in,
run a task, and the "Try it" flow from an imported product to the tracking number in the store.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from devstack import demo_data

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.smoke

# Only what a developer's machine would have: no database, broker or settings module from the tests.
STRIPPED_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "DJANGO_SETTINGS_MODULE",
)


# The README's "Try it" walkthrough.
PRODUCT = "Bamboo cutting board set"
UPS = "1Z999AA10123456784"
SHOPPER = {
    "first_name": "Zoë",
    "last_name": "Ångström",
    "email": "zoe@example.com",
    "address1": "12 Rue de l’Église",
    "city": "Montréal",
    "province": "QC",
    "zip": "H2X 1Y4",
    "country_code": "CA",
    "quantity": "2",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, timeout: float) -> requests.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`make run` exited early with code {process.returncode}")
        try:
            response = requests.get(url, timeout=5)
            if response.status_code == 200:
                return response
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout} s")


def _wait_for_log(path: Path, text: str, process: subprocess.Popen, timeout: float) -> None:
    """runstack prints its banner only after its own health check; wait for it rather than race."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text():
            return
        if process.poll() is not None:
            pytest.fail(f"`make run` exited early with code {process.returncode}")
        time.sleep(0.3)
    pytest.fail(f"`make run` never printed {text!r}")


@pytest.fixture(scope="module")
def embedded_stack(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("make-run")
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key not in STRIPPED_ENV}
    env.update(PORT=str(port), VAR_DIR=str(tmp_path / "var"), DEBUG="1")
    log = (tmp_path / "stack.log").open("w")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", process, timeout=180)
        _wait_for_log(tmp_path / "stack.log", "Dropship is running at", process, timeout=60)
        yield {
            "url": f"http://127.0.0.1:{port}",
            "carrier_url": f"http://127.0.0.1:{port + 4}",
            "env": env,
            "log": tmp_path / "stack.log",
        }
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_make_run_serves_the_demo_and_runs_celery_tasks_on_the_embedded_broker(embedded_stack):
    base = embedded_stack["url"]
    assert "Demo logins" in embedded_stack["log"].read_text()
    home = requests.get(base + "/", timeout=10)
    assert home.status_code == 200
    assert "Active suppliers" in home.text

    session = requests.Session()
    login_page = session.get(base + "/accounts/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
    response = session.post(
        base + "/accounts/login/",
        data={
            "login": demo_data.RETAILER["email"],
            "password": demo_data.DEMO_PASSWORD,
            "csrfmiddlewaretoken": csrf,
        },
        headers={"Referer": base + "/accounts/login/"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.url == base + "/retailer/"
    assert demo_data.RETAILER["business_name"] in response.text.replace("&amp;", "&")

    # A task sent by a separate client process is executed by the stack's worker and answered
    # through the file result backend: the embedded broker really round-trips.
    round_trip = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup();"
            "from dropship.core.tasks import ping_task;"
            "print(ping_task.delay('smoke').get(timeout=60))",
        ],
        cwd=REPO,
        env={**embedded_stack["env"], "DJANGO_SETTINGS_MODULE": "dropship.settings"},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert round_trip.returncode == 0, round_trip.stderr[-2000:]
    assert round_trip.stdout.strip().splitlines()[-1] == "pong:smoke"


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _log_in(base: str, email: str) -> requests.Session:
    """A browser's session: the allauth login form, posted with its CSRF token."""
    session = requests.Session()
    login_page = session.get(base + "/accounts/login/", timeout=10)
    response = session.post(
        base + "/accounts/login/",
        data={
            "login": email,
            "password": demo_data.DEMO_PASSWORD,
            "csrfmiddlewaretoken": _csrf(login_page.text),
        },
        headers={"Referer": base + "/accounts/login/"},
        timeout=10,
    )
    assert response.status_code == 200
    assert "/accounts/login/" not in response.url
    return session


def _submit(
    session: requests.Session, base: str, page: str, action: str, data: dict
) -> requests.Response:
    """Post a form as the browser does: from the page that shows it, with that page's token."""
    shown = session.get(base + page, timeout=30)
    assert shown.status_code == 200, shown.text[-2000:]
    response = session.post(
        base + action,
        data={**data, "csrfmiddlewaretoken": _csrf(shown.text)},
        headers={"Referer": base + page},
        timeout=60,
    )
    assert response.status_code == 200, response.text[-2000:]
    return response


def _poll(what: str, check: Callable[[], object], *, timeout: float = 90) -> object:
    """Ask `check` every half second until it answers something truthy; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.5)
    return found


def _text(session: requests.Session | None, url: str) -> str:
    response = (session or requests).get(url, timeout=30)
    assert response.status_code == 200, response.text[-2000:]
    return response.text


def test_try_it_a_storefront_order_is_routed_shipped_and_tracked_in_the_store(embedded_stack):
    base = embedded_stack["url"]
    storefront = re.search(
        r"Shopify: (http://\S+/storefront/)", embedded_stack["log"].read_text()
    ).group(1)

    # 1. The retailer imports a product: catalog search → import list → push to the Shopify store.
    retailer = _log_in(base, demo_data.RETAILER["email"])
    search = "/catalog/?q=bamboo+cutting+board"
    product_id = re.search(
        rf'<a href="/catalog/(\d+)/">{PRODUCT}</a>', _text(retailer, base + search)
    ).group(1)
    added = _submit(
        retailer,
        base,
        search,
        "/retailer/import-list/add/",
        {"product_ids": product_id, "next": "/retailer/import-list/"},
    )
    assert "1 product added to your import list." in added.text
    import_list = added.text
    store_id = re.search(
        r'name="store_ids" value="(\d+)"[^>]*> Maple &amp; Co \(Shopify\)', import_list
    ).group(1)
    item_ids = re.findall(r'name="item_ids" value="(\d+)"', import_list)
    assert len(item_ids) == 1
    pushed = _submit(
        retailer,
        base,
        "/retailer/import-list/",
        "/retailer/import-list/push/",
        {"store_ids": store_id, "item_ids": item_ids},
    )
    job_id = re.fullmatch(rf"{base}/retailer/imports/(\d+)/", pushed.url).group(1)
    _poll(
        "the import job pushed the product",
        lambda: "1 pushed" in _text(retailer, f"{base}/retailer/imports/{job_id}/progress/"),
    )

    # 2. A shopper orders it on the Shopify sandbox's storefront; the webhook is answered 200.
    sku = re.search(
        rf"<tr><td>{PRODUCT}[^<]*</td><td><code>([^<]+)</code>", _text(None, storefront)
    ).group(1)
    placed = requests.post(
        storefront + "checkout",
        data={**SHOPPER, "sku": sku},
        allow_redirects=False,
        timeout=30,
    )
    assert placed.status_code == 303
    order_url = urljoin(storefront, placed.headers["Location"])
    order_page = _text(None, order_url)
    assert "answered 200" in order_page
    store_order_number = re.search(r"<h1>Order (#\d+)</h1>", order_page).group(1)

    # 3. Dropship routes it: the retailer sees the order, the supplier order is paid and SENT.
    _poll(
        "the order on the retailer's Orders page",
        lambda: (
            f"<strong>{store_order_number}</strong>" in _text(retailer, base + "/retailer/orders/")
        ),
    )
    supplier_email = next(s["email"] for s in demo_data.SUPPLIERS if s["slug"] == "casa-verde-home")
    supplier = _log_in(base, supplier_email)

    def sent_supplier_order() -> str | None:
        listed = _text(supplier, base + "/supplier/orders/?tab=new")
        found = re.search(r'<a href="/supplier/orders/(\d+)/">', listed)
        return found.group(1) if found and "badge badge-SENT" in listed else None

    detail = f"/supplier/orders/{_poll('the supplier order SENT', sent_supplier_order)}/"
    page = _text(supplier, base + detail)
    assert "Montréal" in page
    assert "Maple &amp; Co" in page
    assert f"Store order {store_order_number}" in page

    # 4. The supplier accepts and ships the whole order with a UPS tracking number.
    accepted = _submit(supplier, base, detail, detail + "accept/", {})
    assert re.search(r"Order \S+ accepted\.", accepted.text)
    quantities = dict(re.findall(r'name="(qty-\d+)" id="qty-\d+" value="(\d+)"', accepted.text))
    assert quantities
    shipped = _submit(
        supplier,
        base,
        detail,
        detail + "ship/",
        {**quantities, "carrier": "UPS", "tracking_number": UPS, "scope": "all"},
    )
    assert f"Shipped with UPS {UPS}" in shipped.text
    _poll(
        "the parcel pushed to the store",
        lambda: "Pushed to store" in _text(supplier, base + detail),
    )

    # 5. The tracking number is on the order in the sandbox store.
    def fulfilled_order_page() -> str | None:
        shown = _text(None, order_url)
        return shown if 'id="order-status">Fulfilled<' in shown else None

    assert UPS in _poll("the storefront order fulfilled", fulfilled_order_page)

    # 6. The carrier delivers it: the parcel is registered with the carrier sandbox (its label
    # scan shows on the supplier's page), every parcel is moved on, and the order is delivered.
    _poll(
        "the parcel registered",
        lambda: "Not scanned yet" not in _text(supplier, base + detail),
    )
    for _ in range(3):
        moved = requests.post(
            embedded_stack["carrier_url"] + "/_sandbox/trackers/advance", timeout=10
        )
        assert moved.status_code == 200
    _poll(
        "the supplier order delivered",
        lambda: 'badge-DELIVERED">Delivered</span>' in _text(supplier, base + detail),
    )
