"""Replaying an inbound webhook from the admin puts it back in the inbox for the sweeper."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from dropship.accounts.roles import SUPPORT_AGENT
from dropship.core.models import AuditLogEntry
from integrations.models import InboundWebhook
from tests import factories
from tests.mfa import login_with_second_factor

Status = InboundWebhook.Status


def make_webhook(status: str, key: str) -> InboundWebhook:
    return InboundWebhook.objects.create(
        source=InboundWebhook.Source.SHOPIFY,
        topic="orders/create",
        dedup_key=key,
        body=b'{"id": 820982911946154508}',
        status=status,
        attempts=3,
        last_error="Store answered 502",
    )


def replay(client, *webhooks: InboundWebhook):
    return client.post(
        reverse("admin:integrations_inboundwebhook_changelist"),
        {"action": "replay_selected", "_selected_action": [w.pk for w in webhooks], "index": 0},
    )


@pytest.fixture
def support_client(client, db):
    user = factories.UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT_AGENT))
    login_with_second_factor(client, user)
    client.user = user
    return client


def test_support_agent_replays_failed_and_processed_webhooks(support_client):
    failed = make_webhook(Status.FAILED, "evt-1")
    processed = make_webhook(Status.PROCESSED, "evt-2")
    waiting = make_webhook(Status.RECEIVED, "evt-3")

    response = replay(support_client, failed, processed, waiting)

    assert response.status_code == 302
    assert [m.message for m in get_messages(response.wsgi_request)] == [
        f"Shopify orders/create webhook #{waiting.pk} is already waiting to be processed.",
        "2 webhook(s) put back in the inbox; the inbox sweeper processes them again on its next run.",
    ]
    for webhook in (failed, processed, waiting):
        webhook.refresh_from_db()
        assert webhook.status == Status.RECEIVED
        assert webhook.processed_at is None
        assert webhook.attempts == 3
    entries = AuditLogEntry.objects.filter(action="webhook.replay", actor=support_client.user)
    assert sorted(int(e.target_id) for e in entries) == [failed.pk, processed.pk]


def test_a_webhook_being_processed_is_not_replayed(support_client):
    busy = make_webhook(Status.PROCESSING, "evt-4")

    response = replay(support_client, busy)

    assert [m.message for m in get_messages(response.wsgi_request)] == [
        f"Shopify orders/create webhook #{busy.pk} is being processed right now; "
        "replay it once it has finished or failed."
    ]
    busy.refresh_from_db()
    assert busy.status == Status.PROCESSING
    assert AuditLogEntry.objects.count() == 0


def test_replay_needs_the_replay_permission(client, db):
    user = factories.UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_inboundwebhook"))
    login_with_second_factor(client, user)
    failed = make_webhook(Status.FAILED, "evt-5")

    page = client.get(reverse("admin:integrations_inboundwebhook_changelist"))
    assert page.status_code == 200
    assert "replay_selected" not in page.content.decode()
    replay(client, failed)

    failed.refresh_from_db()
    assert failed.status == Status.FAILED


def test_webhook_page_shows_the_body_but_offers_no_editing(admin_client):
    webhook = make_webhook(Status.FAILED, "evt-6")

    page = admin_client.get(reverse("admin:integrations_inboundwebhook_change", args=[webhook.pk]))

    html = page.content.decode()
    assert "820982911946154508" in html
    assert "Store answered 502" in html
    assert 'name="_save"' not in html
