"""Print the demo staff's current second-factor code (`make demo-code`), so the admin of
`make run` opens without an authenticator app. The secret is the demo's, printed by seed_demo."""

import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management.base import BaseCommand

from devstack import demo_data

TOTP_PERIOD_SECONDS = 30


class Command(BaseCommand):
    help = "Print the current TOTP code of the demo platform admin and support agent."

    def handle(self, *args, **options) -> None:
        now = time.time()
        code = format_hotp_value(
            hotp_value(demo_data.DEMO_TOTP_SECRET, int(now // TOTP_PERIOD_SECONDS))
        )
        left = TOTP_PERIOD_SECONDS - int(now) % TOTP_PERIOD_SECONDS
        self.stdout.write(f"{code}  (valid for {left} more seconds)")
