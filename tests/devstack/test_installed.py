"""devstack (`make run` and the demo) is installed in development only: with DEBUG on, or when
DEVSTACK=1 asks for it as `make run` and `make seed` do; a production start has no seed_demo."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "ALLOW_LOOPBACK_URLS": "0",  # the test run allows loopback; production refuses it
    "SECRET_KEY": "a-real-secret",
    "FIELD_ENCRYPTION_KEYS": "Y29sbGVjdHN0YXRpYy1vbmx5LW5vdC1hLXNlY3JldCE=",
}


def _commands(**overrides: str) -> str:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DEBUG", "DEVSTACK", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(DJANGO_SETTINGS_MODULE="dropship.settings", **overrides)
    result = subprocess.run(
        [sys.executable, "manage.py", "help", "--commands"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize(
    ("overrides", "installed"),
    [
        ({"DEBUG": "1"}, True),
        (PRODUCTION, False),
        ({**PRODUCTION, "DEVSTACK": "1"}, True),
        ({"DEBUG": "1", "DEVSTACK": "0"}, False),
    ],
)
def test_the_demo_commands_exist_only_where_devstack_is_installed(overrides, installed):
    commands = _commands(**overrides)
    assert [name in commands for name in ("runstack", "seed_demo", "prepare_demo")] == [
        installed
    ] * 3
    assert "reencrypt_fields" in commands  # the platform's own commands are always there
