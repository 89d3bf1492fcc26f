"""`make run`: migrate, seed the demo, then run web + worker + beat (+ sandboxes) in the foreground.

Each child's output is prefixed with its name; Ctrl-C (or any child dying) stops them all.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from urllib.error import URLError

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from devstack.management.commands.prepare_demo import demo_storefront_urls
from devstack.management.commands.seed_demo import Command as SeedDemo
from devstack.stack import StackProcess, app_env, sandbox_urls, stack_processes

COLOURS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m"]
RESET = "\033[0m"


class Command(BaseCommand):
    help = "Run the whole Dropship stack in the foreground (what `make run` calls)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--no-seed", action="store_true", help="Skip seeding demo data.")

    def handle(self, *args, port: int, host: str, no_seed: bool, **options):
        self.children: list[tuple[StackProcess, subprocess.Popen]] = []
        self.stopping = threading.Event()
        self.stdout.write(
            f"Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} · "
            f"broker: {settings.CELERY_BROKER_URL.split('://')[0]}"
        )
        call_command("migrate", interactive=False, verbosity=0)
        if not no_seed:
            call_command("seed_demo", quiet_logins=True, force=True)
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        processes = stack_processes(port=port, host=host, state_dir=settings.VAR_DIR / "sandbox")
        try:
            for index, process in enumerate(processes):
                self._start(process, COLOURS[index % len(COLOURS)])
            urls = sandbox_urls(port=port, host=host)
            self._wait_until_up(urls["shopify"] + "/", what="The Shopify sandbox")
            self._wait_until_up(urls["woocommerce"] + "/", what="The WooCommerce sandbox")
            self._wait_until_up(urls["stripe"] + "/", what="The Stripe sandbox")
            self._wait_until_up(urls["carrier"] + "/", what="The carrier-tracking sandbox")
            self._wait_until_up(f"http://{host}:{port}/healthz")
            if not no_seed:
                self._connect_demo_stores(host, port)
            self._banner(host, port, processes, seeded=not no_seed)
            while not self.stopping.is_set():
                for process, popen in self.children:
                    if popen.poll() is not None:
                        raise CommandError(
                            f"{process.name} exited with code {popen.returncode}; stopping the stack."
                        )
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            self._stop_all()

    def _start(self, process: StackProcess, colour: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **process.env}
        popen = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            process.argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self.children.append((process, popen))
        prefix = (
            f"{colour}{process.name:>8}{RESET} | "
            if sys.stdout.isatty()
            else f"{process.name:>8} | "
        )
        threading.Thread(target=self._pump, args=(popen, prefix), daemon=True).start()

    def _pump(self, popen: subprocess.Popen, prefix: str) -> None:
        assert popen.stdout is not None  # noqa: S101  # started with stdout=PIPE
        for line in popen.stdout:
            sys.stdout.write(prefix + line)
            sys.stdout.flush()

    def _connect_demo_stores(self, host: str, port: int) -> None:
        """Point the demo retailer's stores at the sandboxes (webhooks come back to this web)."""
        for name, value in app_env(port=port, host=host).items():
            setattr(settings, name, value)
        urls = sandbox_urls(port=port, host=host)
        try:
            call_command(
                "prepare_demo", shopify_url=urls["shopify"], woocommerce_url=urls["woocommerce"]
            )
        except CommandError as exc:
            self.stderr.write(f"Demo stores not connected: {exc}")
        try:  # the plans on the pricing page, as Stripe Products and Prices in the sandbox
            call_command("sync_stripe_plans", stdout=self.stdout)
        except CommandError as exc:
            self.stderr.write(f"Plans not on sale: {exc}")

    def _wait_until_up(self, url: str, timeout: float = 60, what: str = "The web server") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback URL
                    if response.status == 200:
                        return
            except (URLError, ConnectionError, TimeoutError):
                pass
            for process, popen in self.children:
                if popen.poll() is not None:
                    raise CommandError(
                        f"{process.name} exited with code {popen.returncode} while starting."
                    )
            time.sleep(0.3)
        raise CommandError(f"{what} did not answer {url} within {timeout:.0f} s.")

    def _banner(self, host: str, port: int, processes: list[StackProcess], *, seeded: bool) -> None:
        lines = [
            "",
            "=" * 72,
            f"  Dropship is running at http://{host}:{port}/",
            f"  Admin:  http://{host}:{port}/admin/",
        ]
        lines += [f"  {p.name}: {p.url}" for p in processes if p.url and p.name != "web"]
        if seeded:
            lines += ["", *("  " + line for line in SeedDemo.logins_text().splitlines())]
            lines += ["", "  Sandbox storefronts (place a test order as a shopper):"]
            lines += [
                f"    {name}: {url}" for name, url in self._storefront_urls(host, port).items()
            ]
        lines += ["", "  Press Ctrl-C to stop web, worker, beat and the sandboxes.", "=" * 72, ""]
        self.stdout.write("\n".join(lines))

    @staticmethod
    def _storefront_urls(host: str, port: int) -> dict[str, str]:
        urls = sandbox_urls(port=port, host=host)
        return demo_storefront_urls(
            shopify_url=urls["shopify"], woocommerce_url=urls["woocommerce"]
        )

    def _stop_all(self) -> None:
        for _, popen in self.children:
            if popen.poll() is None:
                os.killpg(popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, popen in self.children:
            try:
                popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
