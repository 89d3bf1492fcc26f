"""The embedded default works: `make run` on SQLite and kombu's filesystem broker, walked over HTTP."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

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


@pytest.fixture
def embedded_stack(tmp_path):
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
        yield {"url": f"http://127.0.0.1:{port}", "env": env, "log": tmp_path / "stack.log"}
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
