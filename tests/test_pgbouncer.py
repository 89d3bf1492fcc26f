"""The app behind PgBouncer in transaction mode (issue 20: pooler-ready).

A server connection is ours for one transaction only, so anything kept in a database session
(advisory locks, prepared statements, server-side cursors) would break or leak. This starts
Debian's PgBouncer in front of the test server with `pool_mode = transaction` and a pool smaller
than the tests' connections, and runs the order, inventory-sync and store-import tests through
it with DB_POOL_MODE=transaction. CI installs PgBouncer (.ci/run); elsewhere the test is skipped
with the reason when the binary is absent.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "dropship_pgbouncer"
TEST_DATABASE = f"test_{DATABASE}"
THROUGH_THE_POOLER = [
    "tests/orders/test_concurrency.py",
    "tests/orders/test_dispatch_and_recovery.py",
    "tests/retailers/test_sync_drain.py",
    # exclusive_lock: one import at a time per store
    "tests/retailers/test_import_push.py::"
    "test_two_jobs_pushing_the_same_product_at_once_create_it_once_in_the_store",
    "tests/core/test_locks.py",
    "tests/core/test_process_lock.py",
]


def _pgbouncer() -> str:
    binary = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if binary:
        return binary
    if os.environ.get("CI"):
        pytest.fail("CI must test behind PgBouncer: .ci/run installs Debian's pgbouncer")
    pytest.skip("PgBouncer is not installed here (apt-get install pgbouncer); CI runs this test")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server() -> tuple[str, int, str]:
    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dropship"))
    return url.hostname or "127.0.0.1", url.port or 5432, url.username or "postgres"


def _drop_test_database(host: str, port: int, user: str) -> None:
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)')


@pytest.fixture
def pooler():
    """PgBouncer in transaction mode on a free port; yields that port."""
    binary = _pgbouncer()
    host, port, user = _server()
    listen = _free_port()
    # PgBouncer refuses to run as root: as root it drops to the postgres user, which must be
    # able to read its files.
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={host} port={port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {listen}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        f"admin_users = {user}\npool_mode = transaction\ndefault_pool_size = 3\nmax_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    command = [binary, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    _drop_test_database(host, port, user)
    # Its log goes to a file this process opened (a pipe nobody reads would fill and stall it).
    log = (folder / "pgbouncer.log").open("w+")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"PgBouncer did not start: {log.read()[-2000:]}")
                time.sleep(0.1)
        yield listen
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        _drop_test_database(host, port, user)
        shutil.rmtree(folder, ignore_errors=True)


def test_the_pooler_runs_in_transaction_mode(pooler):
    """What the suite below runs against: a pooler that hands out a server per transaction."""
    *_, user = _server()
    with psycopg.connect(
        host="127.0.0.1", port=pooler, user=user, dbname="pgbouncer", autocommit=True
    ) as admin:
        modes = {row[0]: row for row in admin.execute("SHOW CONFIG").fetchall()}
    assert modes["pool_mode"][1] == "transaction"


def test_orders_sync_and_imports_pass_behind_a_transaction_pooler(pooler):
    *_, user = _server()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PYTEST_XDIST")
    }
    environment.update(
        DATABASE_URL=f"postgres://{user}@127.0.0.1:{pooler}/{DATABASE}",
        DB_POOL_MODE="transaction",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            "--reuse-db",
            "-q",
            "-m",
            "not browser and not smoke",
            *THROUGH_THE_POOLER,
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in summary, summary
    assert "skipped" not in summary, summary
