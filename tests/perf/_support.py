"""Shared plumbing for the benchmarks: a dedicated database per benchmark, and child processes.

A benchmark never touches the database DATABASE_URL names: it creates `<that name>_bench_<label>`
next to it (same server; named after it so that runs against different databases of one server
never drop each other's), migrates it, and drops it afterwards. Work that is measured runs in a child
process with the production settings (DEBUG off) pointed at that database, so its peak memory
is its own and not the harness's.
"""

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def _database_url() -> str:
    return os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dropship")


def child_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment for a measured child: the production settings (tests/perf/settings.py) on the
    benchmark database."""
    from cryptography.fernet import Fernet

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.perf.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "FIELD_ENCRYPTION_KEYS": os.environ.get("BENCH_FIELD_KEY")
        or Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    os.environ.setdefault("BENCH_FIELD_KEY", env["FIELD_ENCRYPTION_KEYS"])
    return env


@contextlib.contextmanager
def bench_database(label: str) -> Iterator[str]:
    """Create, migrate and finally drop a dedicated database; yields its URL."""
    base = _database_url()
    parts = urlsplit(base)
    if parts.scheme.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            url = f"sqlite:///{folder}/bench_{label}.sqlite3"
            _migrate(url)
            yield url
        return
    import psycopg

    name = f"{parts.path.lstrip('/') or 'dropship'}_bench_{label}"[:63]
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    url = urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        _migrate(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str) -> None:
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=child_env(url),
        check=True,
    )


def run_child(module: str, *args: str, env: dict[str, str]) -> dict:
    """Run `python -m <module> child <args>` and return the JSON it prints last."""
    completed = subprocess.run(
        [PYTHON, "-m", module, "child", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def gunicorn_argv(*, port: int, threads: int = 8) -> list[str]:
    """One gunicorn process with `threads` threads on 127.0.0.1:port, as the web benchmarks run it."""
    return [
        PYTHON, "-m", "gunicorn", "dropship.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--worker-class", "gthread", "--threads", str(threads),
        "--log-level", "warning",
    ]  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) and its descendants so far (Linux /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            for child in children.read().split():
                total += cpu_seconds(int(child))
    except (FileNotFoundError, ProcessLookupError, IndexError):
        pass
    return total
