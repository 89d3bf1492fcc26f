"""The processes `make run` starts together. Apps that bring a process (the sandboxes) add it here.

The Shopify, WooCommerce, Stripe and carrier-tracking sandboxes listen on PORT+1 to PORT+4
(8001-8004 with the default PORT=8000); web, worker and beat are pointed at them through
SHOPIFY_BASE_URL, STRIPE_API_BASE and TRACKING_API_BASE unless the environment already says
otherwise. The carrier sandbox moves each parcel one scan every two minutes and posts its signed
tracker.updated events to this web's /webhooks/tracking/. The Stripe sandbox delivers
its signed webhooks to this web's /webhooks/stripe/ (connected accounts' events to
/webhooks/stripe/connect/). Each sandbox keeps its state in
`state_dir/<name>-<port>.json`, so a restart finds the demo stores' products and orders again.
"""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from billing.webhooks import HANDLED_EVENT_TYPES


@dataclass(frozen=True)
class StackProcess:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    # A URL that answers once the process is ready, shown in the banner.
    url: str = ""


QUEUES = "webhooks,orders,sync,imports,billing,default"


def sandbox_urls(*, port: int, host: str = "127.0.0.1") -> dict[str, str]:
    return {
        "shopify": f"http://{host}:{port + 1}",
        "woocommerce": f"http://{host}:{port + 2}",
        "stripe": f"http://{host}:{port + 3}",
        "carrier": f"http://{host}:{port + 4}",
    }


def app_env(*, port: int, host: str = "127.0.0.1") -> dict[str, str]:
    """What web, worker and beat need to reach the sandboxes and be reached back."""
    urls = sandbox_urls(port=port, host=host)
    wanted = {
        "SHOPIFY_BASE_URL": urls["shopify"],
        "STRIPE_API_BASE": urls["stripe"],
        "TRACKING_API_BASE": urls["carrier"] + "/v2",
        "SITE_URL": f"http://{host}:{port}",
    }
    return {name: value for name, value in wanted.items() if not os.environ.get(name)}


def sandbox_state_file(*, state_dir: Path, name: str, port: int) -> str:
    """One file per sandbox and port: the stores Dropship knows carry the sandbox's address."""
    return str(state_dir / f"{name}-{port}.json")


def stack_processes(*, port: int, state_dir: Path, host: str = "127.0.0.1") -> list[StackProcess]:
    python = sys.executable
    env = app_env(port=port, host=host)
    urls = sandbox_urls(port=port, host=host)
    return [
        StackProcess(
            name="shopify",
            argv=[
                python,
                "-m",
                "sandbox",
                "shopify",
                "--host",
                host,
                "--port",
                str(port + 1),
                "--state",
                sandbox_state_file(state_dir=state_dir, name="shopify", port=port + 1),
                "--privacy-webhook-url",
                f"http://{host}:{port}/webhooks/shopify/",
            ],
            url=urls["shopify"] + "/",
        ),
        StackProcess(
            name="woocommerce",
            argv=[
                python,
                "-m",
                "sandbox",
                "woocommerce",
                "--host",
                host,
                "--port",
                str(port + 2),
                "--state",
                sandbox_state_file(state_dir=state_dir, name="woocommerce", port=port + 2),
            ],
            url=urls["woocommerce"] + "/",
        ),
        StackProcess(
            name="stripe",
            argv=[
                python,
                "-m",
                "sandbox",
                "stripe",
                "--host",
                host,
                "--port",
                str(port + 3),
                "--state",
                sandbox_state_file(state_dir=state_dir, name="stripe", port=port + 3),
                "--webhook-url",
                f"http://{host}:{port}/webhooks/stripe/",
                "--connect-webhook-url",
                f"http://{host}:{port}/webhooks/stripe/connect/",
                "--events",
                ",".join(HANDLED_EVENT_TYPES),  # the endpoint gets the events billing handles
            ],
            url=urls["stripe"] + "/",
        ),
        StackProcess(
            name="carrier",
            argv=[
                python,
                "-m",
                "sandbox",
                "carrier",
                "--host",
                host,
                "--port",
                str(port + 4),
                "--state",
                sandbox_state_file(state_dir=state_dir, name="carrier", port=port + 4),
                "--tracking-webhook-url",
                f"http://{host}:{port}/webhooks/tracking/",
            ],
            url=urls["carrier"] + "/",
        ),
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
            env=env,
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
            env=env,
        ),
        StackProcess(
            name="beat",
            argv=[python, "-m", "celery", "-A", "dropship", "beat", "--loglevel", "INFO"],
            env=env,
        ),
    ]
