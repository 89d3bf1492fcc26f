"""shopify.app.toml (the app's configuration deployed with Shopify CLI) stays in step with the
code: the scopes we request, the app URL, the redirect URLs, the webhook endpoint and topics."""

import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from integrations.shopify.client import WEBHOOK_TOPICS
from integrations.shopify.webhooks import COMPLIANCE_TOPICS

TOML = Path(__file__).resolve().parents[2] / "shopify.app.toml"


def _config() -> dict:
    return tomllib.loads(TOML.read_text())


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "https", url
    return parts.path


def test_the_scopes_are_the_ones_we_request():
    assert _config()["access_scopes"]["scopes"].split(",") == list(settings.SHOPIFY_SCOPES)


def test_the_app_and_redirect_urls_are_our_views():
    config = _config()
    assert _path(config["application_url"]) == reverse("retailers:shopify_app")
    assert sorted(_path(u) for u in config["auth"]["redirect_urls"]) == sorted(
        [reverse("retailers:shopify_install_callback"), reverse("retailers:shopify_callback")]
    )


def test_the_webhooks_reach_our_endpoint_on_api_2026_10():
    webhooks = _config()["webhooks"]
    assert webhooks["api_version"] == "2026-10"
    endpoint = reverse("integrations:shopify_webhook")
    topics, compliance = set(), set()
    for subscription in webhooks["subscriptions"]:
        assert _path(subscription["uri"]) == endpoint
        topics |= set(subscription.get("topics", []))
        compliance |= set(subscription.get("compliance_topics", []))
    # Every topic the client subscribes each shop to, and the same version it pins.
    assert topics == set(WEBHOOK_TOPICS.values())
    assert webhooks["api_version"] == settings.SHOPIFY_API_VERSION
    # The topics our inbox answers as compliance requests (200 even for an unknown shop).
    assert compliance == set(COMPLIANCE_TOPICS)
