"""HTTPS only in production: plain HTTP is redirected, HSTS is sent, and X-Forwarded-Proto is
believed only behind the trusted proxy (BEHIND_PROXY). The production values of these settings
are asserted in tests/test_settings.py; here they are applied to real requests."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_tls(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = False
    settings.ALLOWED_HOSTS = ["dropship.example.com"]
    return settings


def test_plain_http_is_redirected_to_https(client, production_tls):
    response = client.get("/suppliers/?q=lamp", HTTP_HOST="dropship.example.com")

    assert response.status_code == 301
    assert response["Location"] == "https://dropship.example.com/suppliers/?q=lamp"


def test_the_health_check_answers_over_plain_http_for_probes(client, production_tls):
    assert client.get("/healthz", HTTP_HOST="dropship.example.com").status_code == 200


def test_https_answers_with_hsts(client, production_tls):
    response = client.get("/", HTTP_HOST="dropship.example.com", secure=True)

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_behind_the_trusted_proxy_its_forwarded_scheme_is_believed(client, production_tls):
    production_tls.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    response = client.get("/", HTTP_HOST="dropship.example.com", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200
    assert "Strict-Transport-Security" in response


def test_without_a_trusted_proxy_a_forwarded_scheme_is_ignored(client, production_tls):
    production_tls.SECURE_PROXY_SSL_HEADER = None

    response = client.get("/", HTTP_HOST="dropship.example.com", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 301
