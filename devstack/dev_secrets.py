"""Development keys for `make run`, generated once into var/dev-secrets.env (never committed).

`make run` and `make seed` run `python -m devstack.dev_secrets` before Django starts: the first
time it writes a fresh SECRET_KEY, a Fernet key for FIELD_ENCRYPTION_KEYS, the Shopify app's key
and secret the Shopify sandbox and our webhooks share, and the Stripe sandbox's keys; later runs
keep the file as it is, so encrypted store credentials stay readable. dropship/settings.py reads
the file only with DEBUG on, and anything set in the environment wins over it.
Plain Python (no Django): it runs before the settings can be imported.
"""

import base64
import os
import secrets
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FILE_NAME = "dev-secrets.env"


def var_dir() -> Path:
    """Where dropship/settings.py looks: VAR_DIR, or var/ beside manage.py."""
    return Path(os.environ.get("VAR_DIR") or REPO / "var")


def generate() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        # A Fernet key is 32 random bytes, url-safe base64.
        "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "SHOPIFY_API_KEY": f"dev-app-{secrets.token_hex(8)}",
        "SHOPIFY_API_SECRET": secrets.token_urlsafe(32),
        "STRIPE_SECRET_KEY": f"sk_test_{secrets.token_hex(16)}",
        "STRIPE_WEBHOOK_SECRET": f"whsec_{secrets.token_hex(16)}",
        "STRIPE_CONNECT_WEBHOOK_SECRET": f"whsec_{secrets.token_hex(16)}",
        "TRACKING_API_KEY": f"ek_test_{secrets.token_hex(16)}",
        "TRACKING_WEBHOOK_SECRET": f"whsec_{secrets.token_hex(16)}",
    }


def ensure_dev_secrets(folder: Path) -> tuple[Path, bool]:
    """The secrets file in `folder`, written (owner-only) if it is not there yet; and whether it
    was written now. A file from an older checkout gets the keys added since appended; the keys
    it has are never changed (store credentials are encrypted with them)."""
    path = folder / FILE_NAME
    if path.exists():
        present = {
            line.split("=", 1)[0].strip()
            for line in path.read_text().splitlines()
            if "=" in line and not line.lstrip().startswith("#")
        }
        missing = {name: value for name, value in generate().items() if name not in present}
        if missing:
            with path.open("a") as file:
                file.write("".join(f"{name}={value}\n" for name, value in missing.items()))
        return path, False
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Development keys written once by `make run` (devstack/dev_secrets.py). Never use them",
        "# in production; delete this file (and the database under var/) to start over.",
        *(f"{name}={value}" for name, value in generate().items()),
    ]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(lines) + "\n")
    return path, True


if __name__ == "__main__":
    written_path, is_new = ensure_dev_secrets(var_dir())
    if is_new:
        sys.stdout.write(f"Development keys written to {written_path}\n")
