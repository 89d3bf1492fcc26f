"""The integrator guide at /api/v1/guide: public, server-rendered, CSP-safe, linked from the
Swagger UI description and the keys page, and true to what the API and the webhook sender do."""

import base64
import hashlib
import hmac
import re

import pytest
from django.urls import reverse

from integrations import supplier_channel
from integrations.signatures import sign_body

pytestmark = pytest.mark.django_db


@pytest.mark.embedded
def test_the_guide_covers_every_topic_for_anyone(client):
    response = client.get("/api/v1/guide")

    assert response.status_code == 200
    text = response.content.decode()
    for heading in (
        "Authentication",
        "Scopes",
        "Errors",
        "Pagination",
        "Idempotency",
        "Rate limits",
        "Webhooks we send to suppliers",
        "Five common tasks with curl",
    ):
        assert f">{heading}</h2>" in text, heading
    assert text.count("<pre><code>curl") == 5


def test_the_guide_has_no_inline_script_style_or_handlers(client):
    text = client.get("/api/v1/guide").content.decode()

    assert not re.search(r"<script(?![^>]*\bsrc=)", text)
    assert " style=" not in text
    assert not re.search(r"\son[a-z]+=", text)
    assert "Content-Security-Policy" in client.get("/api/v1/guide")


def test_the_guide_states_the_real_limits_and_webhook_contract(client, settings):
    settings.API_RATE_LIMIT_PER_KEY = "900/m"

    text = client.get("/api/v1/guide").content.decode()

    assert "Per key: 900 per minute." in text
    assert "<code>orders:write</code>" in text
    for header in (
        supplier_channel.SIGNATURE_HEADER,
        supplier_channel.EVENT_HEADER,
        supplier_channel.DELIVERY_HEADER,
    ):
        assert header in text
    # the signature the guide tells suppliers to compute is the one the sender puts on
    body, secret = b'{"event":"order.created"}', "whsec"
    described = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    assert described == sign_body(body, secret)
    assert "base64(HMAC-SHA256(raw body, your webhook secret))" in text


def test_swagger_ui_and_the_keys_page_link_the_guide(client, supplier_client):
    document = client.get("/api/v1/openapi.json").json()
    keys_page = supplier_client.get(reverse("accounts:api_keys")).content.decode()

    assert "(/api/v1/guide)" in document["info"]["description"]
    assert 'href="/api/v1/guide"' in keys_page
