"""API keys: scopes chosen on the keys page, expiry, rotation with a grace period, last use time
and address, and the audit trail of creation, rotation and revocation."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dropship.accounts import services
from dropship.accounts.models import ALL_SCOPES, ApiKey
from dropship.core.errors import DomainError
from dropship.core.models import AuditLogEntry
from tests import factories

pytestmark = pytest.mark.django_db


def _me(client, secret: str, ip: str = "203.0.113.7"):
    return client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR=ip)


def _secret_on(page) -> str:
    return re.search(r'id="new-secret">(d[rs]k_[^<]+)<', page.content.decode())[1]


def test_the_keys_page_creates_a_key_with_a_preset_and_an_expiry(supplier_client):
    page = supplier_client.post(
        reverse("accounts:api_keys"),
        {"name": "WMS", "preset": "fulfilment", "expires_in_days": "30"},
    )

    secret = _secret_on(page)
    key = ApiKey.objects.get(supplier=supplier_client.supplier)
    assert key.scopes == [
        "catalog:read",
        "stock:read",
        "stock:write",
        "orders:read",
        "orders:write",
    ]
    assert timedelta(days=29, hours=23) < key.expires_at - timezone.now() <= timedelta(days=30)
    assert key.created_by == supplier_client.supplier.memberships.get().user
    assert _me(supplier_client, secret).json()["scopes"] == key.scopes


def test_the_keys_page_creates_a_custom_key_with_the_ticked_scopes(retailer_client):
    retailer_client.post(
        reverse("accounts:api_keys"),
        {"name": "BI", "preset": "custom", "scopes": ["billing:read", "orders:read"]},
    )

    key = ApiKey.objects.get(retailer=retailer_client.retailer)
    assert (key.scopes, key.expires_at) == (["orders:read", "billing:read"], None)


def test_a_custom_key_without_scopes_is_refused_and_nothing_is_created(retailer_client):
    page = retailer_client.post(
        reverse("accounts:api_keys"), {"name": "BI", "preset": "custom", "scopes": []}
    )

    assert page.status_code == 422
    assert "Tick at least one scope, or choose a preset." in page.content.decode()
    assert not ApiKey.objects.filter(retailer=retailer_client.retailer).exists()


def test_a_key_without_a_preset_gets_every_scope(retailer_client):
    retailer_client.post(reverse("accounts:api_keys"), {"name": "Store sync"})

    assert ApiKey.objects.get(retailer=retailer_client.retailer).scopes == list(ALL_SCOPES)


def test_unknown_scopes_and_past_expiries_are_refused_naming_the_field():
    supplier = factories.SupplierFactory()

    with pytest.raises(DomainError) as unknown:
        services.create_api_key(
            organisation=supplier, name="X", created_by=None, scopes=["orders:admin"]
        )
    with pytest.raises(DomainError) as past:
        services.create_api_key(
            organisation=supplier,
            name="X",
            created_by=None,
            expires_at=timezone.now() - timedelta(seconds=1),
        )

    assert (unknown.value.field, unknown.value.message) == (
        "scopes",
        "Unknown scope 'orders:admin'.",
    )
    assert past.value.field == "expires_at"
    assert not ApiKey.objects.exists()


def test_an_expired_key_answers_401(client):
    key, secret = services.create_api_key(
        organisation=factories.SupplierFactory(),
        name="Temp",
        created_by=None,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    before = _me(client, secret)
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now())
    after = _me(client, secret)

    assert (before.status_code, after.status_code) == (200, 401)
    assert after.json()["detail"] == "That API key is malformed, unknown, revoked or expired."


def test_rotation_gives_a_new_key_and_the_old_one_works_until_the_grace_period_ends(client):
    member = factories.SupplierMemberFactory()
    old, old_secret = services.create_api_key(
        organisation=member.supplier, name="ERP", created_by=member.user, scopes=["orders:read"]
    )

    new, new_secret = services.rotate_api_key(
        api_key=old, grace=timedelta(hours=24), rotated_by=member.user
    )

    old.refresh_from_db()
    assert (new.name, new.scopes, new.expires_at) == ("ERP", ["orders:read"], None)
    assert old.replaced_by == new
    assert timedelta(hours=23, minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=24)
    assert (_me(client, old_secret).status_code, _me(client, new_secret).status_code) == (200, 200)
    ApiKey.objects.filter(pk=old.pk).update(expires_at=timezone.now())  # the grace period ends
    assert (_me(client, old_secret).status_code, _me(client, new_secret).status_code) == (401, 200)
    with pytest.raises(DomainError, match="already rotated"):
        services.rotate_api_key(api_key=old, grace=timedelta(0), rotated_by=member.user)


def test_rotation_without_grace_stops_the_old_key_at_once(client):
    old, old_secret = services.create_api_key(
        organisation=factories.RetailerFactory(), name="Shop", created_by=None
    )

    _, new_secret = services.rotate_api_key(api_key=old, grace=timedelta(0), rotated_by=None)

    assert (_me(client, old_secret).status_code, _me(client, new_secret).status_code) == (401, 200)


def test_the_keys_page_rotates_a_key_and_shows_the_new_secret_once(supplier_client):
    old, _ = services.create_api_key(
        organisation=supplier_client.supplier, name="ERP", created_by=None
    )

    page = supplier_client.post(
        reverse("accounts:rotate_api_key", args=[old.pk]), {"grace_hours": "1"}
    )
    again = supplier_client.get(reverse("accounts:api_keys"))

    new_secret = _secret_on(page)
    assert ApiKey.objects.get(replaces=old).prefix == new_secret[:8]
    assert "rotated, still working" in again.content.decode()
    assert new_secret not in again.content.decode()


def test_another_organisations_key_cannot_be_rotated(supplier_client):
    theirs, _ = services.create_api_key(
        organisation=factories.SupplierFactory(), name="Theirs", created_by=None
    )

    response = supplier_client.post(
        reverse("accounts:rotate_api_key", args=[theirs.pk]), {"grace_hours": "0"}
    )

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.replaced_by, theirs.expires_at) == (None, None)


def test_last_use_time_and_address_are_written_at_most_once_a_minute(client):
    key, secret = services.create_api_key(
        organisation=factories.SupplierFactory(), name="ERP", created_by=None
    )

    _me(client, secret, ip="203.0.113.7")
    key.refresh_from_db()
    first_use = key.last_used_at
    _me(client, secret, ip="198.51.100.9")  # within the minute: not written
    key.refresh_from_db()
    assert (key.last_used_at, key.last_used_ip) == (first_use, "203.0.113.7")

    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first_use - timedelta(minutes=2))
    _me(client, secret, ip="198.51.100.9")
    key.refresh_from_db()
    assert key.last_used_ip == "198.51.100.9"
    assert key.last_used_at > first_use


def test_the_keys_page_shows_last_use_address_scopes_and_expiry(supplier_client):
    key, _ = services.create_api_key(
        organisation=supplier_client.supplier,
        name="ERP",
        created_by=None,
        scopes=["stock:write"],
        expires_at=timezone.now() + timedelta(days=3),
    )
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now(), last_used_ip="203.0.113.7")

    text = supplier_client.get(reverse("accounts:api_keys")).content.decode()

    assert "from <code>203.0.113.7</code>" in text
    assert "stock:write" in text
    assert f"{key.expires_at:%Y-%m-%d %H:%M} UTC" in text


def test_creation_rotation_and_revocation_are_audited(supplier_client):
    user = supplier_client.supplier.memberships.get().user
    supplier_client.post(reverse("accounts:api_keys"), {"name": "ERP", "preset": "read"})
    key = ApiKey.objects.get(supplier=supplier_client.supplier)
    supplier_client.post(reverse("accounts:rotate_api_key", args=[key.pk]), {"grace_hours": "0"})
    new = ApiKey.objects.get(replaces=key)
    supplier_client.post(reverse("accounts:revoke_api_key", args=[new.pk]))

    entries = list(
        AuditLogEntry.objects.filter(target_type="accounts.apikey")
        .order_by("id")
        .values_list("action", "target_id", "actor")
    )
    assert entries == [
        ("api_key.created", str(key.pk), user.pk),
        ("api_key.rotated", str(key.pk), user.pk),
        ("api_key.revoked", str(new.pk), user.pk),
    ]
