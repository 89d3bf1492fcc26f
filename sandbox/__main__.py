"""`python -m sandbox shopify|woocommerce|stripe|carrier --port N [--state FILE]`"""

import argparse
import contextlib
import os
import sys

from sandbox.carrier import CarrierSandbox, run_ticker
from sandbox.server import SandboxServer
from sandbox.shopify import (
    ADVANCED_PLAN,
    PLUS_PLAN,
    STANDARD_PLAN,
    Plan,
    ShopifySandbox,
)
from sandbox.state import StateFile
from sandbox.stripe import StripeSandbox
from sandbox.woocommerce import WooCommerceSandbox

PLANS = {"standard": STANDARD_PLAN, "advanced": ADVANCED_PLAN, "plus": PLUS_PLAN}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox")
    parser.add_argument("platform", choices=["shopify", "woocommerce", "stripe", "carrier"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--plan", choices=sorted(PLANS), default="standard")
    parser.add_argument("--bucket", type=float, help="Override the plan's bucket size (points).")
    parser.add_argument("--restore-rate", type=float, help="Override the restore rate (points/s).")
    parser.add_argument(
        "--privacy-webhook-url",
        default=os.environ.get("SANDBOX_PRIVACY_WEBHOOK_URL", ""),
        help="Where the mandatory privacy topics are sent (the app configuration's URL).",
    )
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get("SANDBOX_STRIPE_WEBHOOK_URL", ""),
        help="Stripe: the webhook endpoint events are delivered to.",
    )
    parser.add_argument(
        "--connect-webhook-url",
        default=os.environ.get("SANDBOX_STRIPE_CONNECT_WEBHOOK_URL", ""),
        help="Stripe: the Connect endpoint events of connected accounts are delivered to.",
    )
    parser.add_argument(
        "--events",
        default=os.environ.get("SANDBOX_STRIPE_EVENTS", "*"),
        help="Stripe: comma-separated event types the endpoint is enabled for ('*' for all).",
    )
    parser.add_argument(
        "--state",
        help="A JSON file the sandbox loads at start and saves after every change, so its shops, "
        "products and orders survive a restart (in memory only without it).",
    )
    parser.add_argument(
        "--tracking-webhook-url",
        default=os.environ.get("SANDBOX_TRACKING_WEBHOOK_URL", ""),
        help="Carrier: where tracker.updated events are delivered.",
    )
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=120.0,
        help="Carrier: seconds between a parcel's scans (label, transit, out for delivery, delivered).",
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    state_file = StateFile(args.state) if args.state else None
    if args.platform == "shopify":
        base = PLANS[args.plan]
        plan = Plan(
            maximum_available=args.bucket or base.maximum_available,
            restore_rate=args.restore_rate or base.restore_rate,
        )
        app = ShopifySandbox(
            api_key=os.environ.get("SHOPIFY_API_KEY", "dropship-dev-app"),
            api_secret=os.environ.get("SHOPIFY_API_SECRET", "dropship-dev-app-secret"),
            plan=plan,
            privacy_webhook_url=args.privacy_webhook_url,
            verbose=args.verbose,
            state_file=state_file,
        )
        server = SandboxServer(app, host=args.host, port=args.port)
    elif args.platform == "stripe":
        app = StripeSandbox(
            secret_key=os.environ.get("STRIPE_SECRET_KEY") or "sk_test_dropship_sandbox",
            webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET") or "whsec_dropship_sandbox",
            webhook_url=args.webhook_url,
            connect_webhook_secret=os.environ.get("STRIPE_CONNECT_WEBHOOK_SECRET")
            or "whsec_dropship_connect_sandbox",
            connect_webhook_url=args.connect_webhook_url,
            platform_country=os.environ.get("STRIPE_PLATFORM_COUNTRY") or "US",
            enabled_events=[e.strip() for e in args.events.split(",") if e.strip()] or ["*"],
            verbose=args.verbose,
            state_file=state_file,
        )
        server = SandboxServer(app, host=args.host, port=args.port)
        app.base_url = server.base_url
    elif args.platform == "carrier":
        app = CarrierSandbox(
            api_key=os.environ.get("TRACKING_API_KEY") or "ek_test_dropship_sandbox",
            webhook_secret=os.environ.get("TRACKING_WEBHOOK_SECRET") or "whsec_tracking_sandbox",
            webhook_url=args.tracking_webhook_url,
            step_seconds=args.step_seconds,
            verbose=args.verbose,
            state_file=state_file,
        )
        server = SandboxServer(app, host=args.host, port=args.port)
        run_ticker(app, every=min(10.0, args.step_seconds))
    else:
        app = WooCommerceSandbox(verbose=args.verbose, state_file=state_file)
        server = SandboxServer(app, host=args.host, port=args.port)
        app.base_url = server.base_url
    sys.stdout.write(f"{args.platform} sandbox listening on {server.base_url}\n")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
