"""Rate limits on the JSON API: per key, per client IP without credentials, and per client IP for
failed authentication. django-ratelimit counts in fixed windows on the wall clock; the tests move
its clock instead of waiting."""

import uuid

import django_ratelimit.core
import pytest

from dropship.accounts.services import create_api_key
from tests import factories
from tests.problems import problem


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(django_ratelimit.core, "time", fake)
    return fake


@pytest.fixture
def supplier_secret(db):
    return create_api_key(organisation=factories.SupplierFactory(), name="ERP", created_by=None)[1]


def _me(client, secret: str, ip: str = "203.0.113.7"):
    return client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR=ip)


def test_a_key_over_its_limit_answers_429_with_retry_after_then_recovers(
    client, settings, clock, supplier_secret
):
    settings.API_RATE_LIMIT_PER_KEY = "3/m"
    other_secret = create_api_key(
        organisation=factories.SupplierFactory(), name="Other", created_by=None
    )[1]

    allowed = [_me(client, supplier_secret) for _ in range(3)]
    refused = _me(client, supplier_secret)
    other = _me(client, other_secret)
    clock.now += 60
    recovered = _me(client, supplier_secret)

    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [r["X-RateLimit-Remaining"] for r in allowed] == ["2", "1", "0"]
    assert allowed[0]["X-RateLimit-Limit"] == "3"
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Retry-After"] == refused["X-RateLimit-Reset"]
    assert problem(refused)["detail"].startswith("Rate limit exceeded.")
    assert other.status_code == 200
    assert recovered.status_code == 200


def test_failed_authentication_is_limited_per_ip_before_keys_are_checked(
    client, settings, clock, supplier_secret
):
    settings.API_RATE_LIMIT_AUTH_FAILURES_PER_IP = "3/m"

    guesses = [_me(client, f"dsk_guess{i}") for i in range(3)]
    then_valid = _me(client, supplier_secret)
    elsewhere = _me(client, supplier_secret, ip="198.51.100.9")
    clock.now += 60
    later = _me(client, supplier_secret)

    assert [r.status_code for r in guesses] == [401, 401, 401]
    assert then_valid.status_code == 429
    assert problem(then_valid)["detail"].startswith(
        "Too many failed authentication attempts from your address."
    )
    assert elsewhere.status_code == 200
    assert later.status_code == 200


def test_calls_without_credentials_are_limited_per_ip(client, settings, clock, db):
    settings.API_RATE_LIMIT_PER_IP = "2/m"

    answers = [
        client.get("/api/v1/suppliers", REMOTE_ADDR="203.0.113.7").status_code for _ in range(3)
    ]
    other_ip = client.get("/api/v1/suppliers", REMOTE_ADDR="198.51.100.9")

    assert answers == [200, 200, 429]
    assert other_ip.status_code == 200


def test_behind_the_proxy_the_client_ip_is_the_one_the_proxy_appended(client, settings, clock, db):
    settings.API_RATE_LIMIT_PER_IP = "1/m"
    settings.BEHIND_PROXY = True

    first = client.get(
        "/api/v1/suppliers", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7", REMOTE_ADDR="10.0.0.2"
    )
    spoofed = client.get(
        "/api/v1/suppliers", HTTP_X_FORWARDED_FOR="2.2.2.2, 203.0.113.7", REMOTE_ADDR="10.0.0.2"
    )

    assert (first.status_code, spoofed.status_code) == (200, 429)


def test_every_answer_carries_the_ratelimit_fields_with_the_policy(
    client, settings, clock, supplier_secret
):
    settings.API_RATE_LIMIT_PER_KEY = "5/m"

    answer = _me(client, supplier_secret)

    assert answer.status_code == 200
    assert (
        answer["RateLimit-Limit"],
        answer["RateLimit-Remaining"],
        answer["RateLimit-Policy"],
    ) == ("5", "4", "5;w=60")
    assert 1 <= int(answer["RateLimit-Reset"]) <= 60


def test_an_expensive_operation_has_its_own_budget_on_top_of_the_keys(
    client, settings, clock, supplier_secret
):
    settings.API_RATE_LIMIT_EXPENSIVE = {"POST /api/v1/supplier/inventory": "2/m"}

    def push():
        return client.post(
            "/api/v1/supplier/inventory",
            {"items": [{"sku": "NONE", "quantity": 1}]},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {supplier_secret}",
        )

    batches = [push() for _ in range(3)]
    other_call = _me(client, supplier_secret)
    clock.now += 60
    recovered = push()

    assert [r.status_code for r in batches] == [200, 200, 429]
    assert batches[1]["RateLimit-Remaining"] == "0"
    assert batches[1]["RateLimit-Policy"] == "2;w=60"
    assert 1 <= int(batches[2]["Retry-After"]) <= 60
    assert other_call.status_code == 200
    assert recovered.status_code == 200


def test_all_calls_from_one_address_share_a_budget_whatever_the_key(
    client, settings, clock, supplier_secret
):
    settings.API_RATE_LIMIT_PER_IP_TOTAL = "3/m"
    other_secret = create_api_key(
        organisation=factories.SupplierFactory(), name="Other", created_by=None
    )[1]

    answers = [
        _me(client, secret).status_code
        for secret in (supplier_secret, other_secret, supplier_secret, other_secret)
    ]
    elsewhere = _me(client, other_secret, ip="198.51.100.9")

    assert answers == [200, 200, 200, 429]
    assert elsewhere.status_code == 200


def test_webhooks_are_limited_per_source(client, settings, clock, db):
    settings.WEBHOOK_RATE_LIMIT_PER_SOURCE = "2/m"

    def deliver(slug: str):
        return client.post(f"/webhooks/supplier/{slug}/", b"{}", content_type="application/json")

    burst = [deliver("acme") for _ in range(3)]
    other_source = deliver("globex")
    clock.now += 60
    later = deliver("acme")

    # no such supplier: 404 until the source is over its budget
    assert [r.status_code for r in burst] == [404, 404, 429]
    assert 1 <= int(burst[2]["Retry-After"]) <= 60
    assert burst[2].json()["code"] == "rate_limited"
    assert other_source.status_code == 404
    assert later.status_code == 404


@pytest.fixture
def local_cache(settings):
    """The embedded setup's cache: no Redis, so the limits are counted one budget at a time."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"rate-limits-{uuid.uuid4().hex}",
        }
    }


def test_without_redis_the_key_ip_and_failure_budgets_hold_the_same(
    client, settings, clock, supplier_secret, local_cache
):
    settings.API_RATE_LIMIT_PER_KEY = "2/m"
    settings.API_RATE_LIMIT_AUTH_FAILURES_PER_IP = "2/m"

    allowed = [_me(client, supplier_secret) for _ in range(2)]
    refused = _me(client, supplier_secret)
    guesses = [_me(client, "dsk_guess", ip="198.51.100.9") for _ in range(2)]
    gated = _me(client, supplier_secret, ip="198.51.100.9")
    clock.now += 60
    recovered = _me(client, supplier_secret)

    assert [r.status_code for r in allowed] == [200, 200]
    assert [r["RateLimit-Remaining"] for r in allowed] == ["1", "0"]
    assert refused.status_code == 429
    assert [r.status_code for r in guesses] == [401, 401]
    assert gated.status_code == 429
    assert problem(gated)["detail"].startswith("Too many failed authentication attempts")
    assert recovered.status_code == 200


def test_on_redis_a_closed_failure_gate_counts_nothing_else(
    client, settings, clock, supplier_secret
):
    """The one-round-trip script reads the failed-authentication gate first: a refused call
    spends none of the key's budget."""
    settings.API_RATE_LIMIT_AUTH_FAILURES_PER_IP = "1/m"
    settings.API_RATE_LIMIT_PER_KEY = "5/m"

    guess = _me(client, "dsk_guess")
    refused = [_me(client, supplier_secret) for _ in range(3)]
    elsewhere = _me(client, supplier_secret, ip="198.51.100.9")

    assert guess.status_code == 401
    assert [r.status_code for r in refused] == [429, 429, 429]
    # the key's first counted call: nothing was spent while its address was refused
    assert (elsewhere.status_code, elsewhere["RateLimit-Remaining"]) == (200, "4")
