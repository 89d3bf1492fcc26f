"""Benchmarks run on the production settings (DEBUG off), with what one machine needs on top.

The keys production takes from its environment are generated here when the benchmark's
environment has none (children get the harness's through tests/perf/_support.child_env). After
the production checks: plain HTTP to gunicorn on 127.0.0.1 (no TLS proxy in the loop, so no
redirect to HTTPS) and the sandboxes on loopback, as tests/settings.py allows them for the tests.
"""

import os
import secrets

from cryptography.fernet import Fernet

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault(
    "FIELD_ENCRYPTION_KEYS", os.environ.get("BENCH_FIELD_KEY") or Fernet.generate_key().decode()
)
os.environ.setdefault("SHOPIFY_API_KEY", "bench")
os.environ.setdefault("SHOPIFY_API_SECRET", "bench-secret")

from dropship.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
ALLOW_LOOPBACK_URLS = True
# One load generator is one webhook source and one client IP: the limits stay on (their cost is
# part of each request) but far above what the benchmarks send, so they measure the intake, not
# 429 answers.
WEBHOOK_RATE_LIMIT_PER_SOURCE = "10000000/m"
