"""The processes `make run` starts together. Apps that bring a process (the sandboxes) add it here."""

import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StackProcess:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    # A URL that answers once the process is ready, shown in the banner.
    url: str = ""


QUEUES = "webhooks,orders,sync,imports,billing,default"


def stack_processes(*, port: int, host: str = "127.0.0.1") -> list[StackProcess]:
    python = sys.executable
    return [
        StackProcess(
            name="web",
            argv=[
                python,
                "-m",
                "gunicorn",
                "dropship.wsgi",
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
            url=f"http://{host}:{port}/",
        ),
        StackProcess(
            name="worker",
            argv=[
                python,
                "-m",
                "celery",
                "-A",
                "dropship",
                "worker",
                "-Q",
                QUEUES,
                "--pool",
                "threads",
                "--concurrency",
                "4",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
        ),
        StackProcess(
            name="beat",
            argv=[python, "-m", "celery", "-A", "dropship", "beat", "--loglevel", "INFO"],
        ),
    ]
