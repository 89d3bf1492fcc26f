"""Real Celery worker processes on Redis, for the killed-worker test and its benchmark.

A worker runs the production settings (`dropship.settings`) against the database and Redis
given; messages are sent to it by name from a bare Celery app, as web and beat send them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import psycopg

ROOT = Path(__file__).resolve().parents[2]
# The queues and kombu's bookkeeping keys a run leaves in its Redis database.
BROKER_KEYS = (
    "webhooks",
    "orders",
    "sync",
    "imports",
    "billing",
    "default",
    "unacked",
    "unacked_index",
    "unacked_mutex",
)


def worker_env(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dropship.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    env.pop("CELERY_RESULT_BACKEND", None)
    return env


def database_url_of_tests() -> str:
    """The test database, as worker processes reach it."""
    from django.db import connection

    db = connection.settings_dict
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{port}/{db['NAME']}"


def start_worker(
    *, name: str, env: dict[str, str], log: IO[str], queues: str = "webhooks", beat_dir: str = ""
) -> subprocess.Popen[bytes]:
    """One solo-pool worker (the task runs in the process that gets killed); with `beat_dir`,
    beat runs inside it (-B), its schedule file there."""
    argv = [
        sys.executable, "-m", "celery", "-A", "dropship", "worker", "-P", "solo",
        "-n", f"{name}@%h", "-Q", queues, "--without-gossip", "--without-mingle",
        "--loglevel", "INFO",
    ]  # fmt: skip
    if beat_dir:
        argv += ["-B", "-s", str(Path(beat_dir) / "celerybeat-schedule")]
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker's whole process group: no warm shutdown, nothing handed back."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill(process)


def send_task(redis_url: str, name: str, *args: object, queue: str) -> None:
    from celery import Celery

    # Not the current app: shared tasks of this test process resolve to the current app, and a
    # default one (no eager mode, this broker) would send the suite's later tasks to Redis.
    app = Celery(broker=redis_url, set_as_current=False)
    try:
        app.send_task(name, args=list(args), queue=queue)
    finally:
        app.close()


def clear_broker(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(*BROKER_KEYS)
    finally:
        client.close()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> float:
    """Poll until `condition()` holds; the monotonic time it did. A bound on waiting, raised as
    an error naming what never happened, not a measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


@contextlib.contextmanager
def doomed_worker_claiming(
    *,
    event_id: int,
    variant_id: int,
    database_url: str,
    redis_url: str,
    env: dict[str, str],
    log: IO[str],
    is_claimed: Callable[[], bool],
    timeout: float,
) -> Iterator[tuple[psycopg.Connection, subprocess.Popen[bytes]]]:
    """Worker A ("doomed") takes the webhook event and blocks inside its intake transaction,
    on the variant row the yielded connection holds. Yields (that connection, worker A); both
    are closed and killed when the block ends, whatever happened."""
    blocker = psycopg.connect(database_url.replace("postgres://", "postgresql://", 1))
    blocker.execute("SELECT 1 FROM catalog_variant WHERE id = %s FOR UPDATE", [variant_id])
    doomed = start_worker(name="doomed", env=env, log=log)
    try:
        send_task(
            redis_url, "integrations.tasks.process_inbound_webhook_task", event_id, queue="webhooks"
        )
        wait_for(is_claimed, timeout=timeout, what="worker A claiming the event")
        yield blocker, doomed
    finally:
        blocker.close()
        kill(doomed)
