"""The hourly Shopify token job: an idle store's pair is renewed before its refresh token runs
out, a refused refresh turns the store NEEDS_RECONNECT with the reason, a store still on a
non-expiring token is migrated once with Shopify's token exchange, and a refused or lost
exchange leaves the store working. Against the Shopify sandbox over real HTTP; the job is given
the sandbox's clock (FakeClock) as `now`."""

import datetime

import pytest
from django.test import override_settings

from dropship.core.models import AuditLogEntry
from integrations.shopify.client import ShopifyClient
from retailers.models import Store
from retailers.services import check_store_connection, keep_shopify_tokens_alive
from tests import factories
from tests.mfa import login_with_second_factor

SHOP = "maple-and-co.myshopify.com"
DAY = 86400


def _stored(store: Store) -> Store:
    return Store.objects.get(pk=store.pk)


def _run(sandbox) -> dict[str, int]:
    return keep_shopify_tokens_alive(now=sandbox.clock())


def _works_with(sandbox, token: str) -> bool:
    client = ShopifyClient(shop_domain=SHOP, access_token=token)
    try:
        client.verify_connection()
    except Exception:
        return False
    return True


@pytest.mark.django_db
def test_an_idle_store_is_renewed_once_close_to_its_refresh_tokens_expiry(shopify_sandbox):
    store = shopify_sandbox.connect_store(expiring=True)
    old = store.credentials
    assert _run(shopify_sandbox) == {"unchanged": 1}  # 90 days left: nothing to do yet
    assert shopify_sandbox.app.refreshes(SHOP) == 0
    due = _stored(store).tokens_due_at.timestamp()
    assert due == pytest.approx(old["refresh_token_expires_at"] - 14 * DAY)

    shopify_sandbox.clock.advance(89 * DAY)  # no call for 89 days: one day left
    assert _run(shopify_sandbox) == {"renewed": 1}

    renewed = _stored(store)
    assert shopify_sandbox.app.refreshes(SHOP) == 1
    assert renewed.credentials["refresh_token"] != old["refresh_token"]
    assert renewed.credentials["refresh_token"] in shopify_sandbox.app.live_refresh_tokens(SHOP)
    now = shopify_sandbox.clock()
    assert renewed.credentials["refresh_token_expires_at"] >= now + 89 * DAY
    assert renewed.tokens_due_at.timestamp() >= now + 75 * DAY
    assert renewed.credentials["webhook_ids"] == old["webhook_ids"]

    # Run twice (a second beat, a redelivered task): the lock's re-read finds nothing to do.
    Store.objects.filter(pk=store.pk).update(tokens_due_at=None)
    assert _run(shopify_sandbox) == {"unchanged": 1}
    assert _run(shopify_sandbox) == {}  # not due again for 75 days
    assert shopify_sandbox.app.refreshes(SHOP) == 1
    assert _stored(store).status == Store.Status.CONNECTED


@pytest.mark.django_db
def test_a_refused_renewal_marks_the_store_needs_reconnect_with_the_reason(shopify_sandbox):
    store = shopify_sandbox.connect_store(expiring=True)
    shopify_sandbox.clock.advance(89 * DAY)
    shopify_sandbox.app.revoke_refresh_tokens(SHOP)

    assert _run(shopify_sandbox) == {"needs_reconnect": 1}

    store = _stored(store)
    assert store.status == Store.Status.NEEDS_RECONNECT
    assert "Shopify refused to renew our access" in store.status_reason
    assert "revoked" in store.status_reason
    assert _run(shopify_sandbox) == {}  # a store needing reconnection is left alone


@pytest.mark.django_db
@override_settings(SHOPIFY_TOKEN_UPKEEP_BATCH=2)
def test_each_run_takes_a_bounded_batch_never_looked_at_first(shopify_sandbox):
    retailer = factories.RetailerFactory()
    stores = [
        shopify_sandbox.connect_store(
            retailer=retailer, domain=f"shop-{n}.myshopify.com", expiring=True
        )
        for n in range(3)
    ]

    assert _run(shopify_sandbox) == {"unchanged": 2}
    assert _run(shopify_sandbox) == {"unchanged": 1}
    assert _run(shopify_sandbox) == {}
    assert all(_stored(s).tokens_due_at is not None for s in stores)


@pytest.mark.django_db
def test_a_non_expiring_token_is_migrated_once_and_the_old_one_retires(shopify_sandbox):
    store = shopify_sandbox.connect_store()  # connected before expiring tokens
    old_token = store.credentials["access_token"]

    assert _run(shopify_sandbox) == {"migrated": 1}

    store = _stored(store)
    credentials = store.credentials
    assert credentials["access_token"] != old_token
    assert credentials["refresh_token"] in shopify_sandbox.app.live_refresh_tokens(SHOP)
    assert credentials["access_token_expires_at"] > shopify_sandbox.clock() + 3000
    assert shopify_sandbox.app.exchanges(SHOP) == 1
    assert not _works_with(shopify_sandbox, old_token)
    shopify_sandbox.app.require_expiring_tokens()  # Shopify's 2027-01-01 cutoff
    assert check_store_connection(store=store).name == "Maple And Co"
    assert AuditLogEntry.objects.filter(action="store.token_migrated").count() == 1

    Store.objects.filter(pk=store.pk).update(tokens_due_at=None)
    assert _run(shopify_sandbox) == {"unchanged": 1}
    assert shopify_sandbox.app.exchanges(SHOP) == 1


@pytest.mark.django_db
def test_a_refused_migration_keeps_the_old_token_and_tells_platform_admins(shopify_sandbox, client):
    store = shopify_sandbox.connect_store()
    old_token = store.credentials["access_token"]
    shopify_sandbox.app.refuse_token_exchange(SHOP)

    assert _run(shopify_sandbox) == {"migration_refused": 1}

    store = _stored(store)
    assert store.status == Store.Status.CONNECTED
    assert store.credentials["access_token"] == old_token
    assert "Token exchange is not available for this app" in store.token_migration_error
    assert check_store_connection(store=store).name == "Maple And Co"  # still works
    tomorrow = shopify_sandbox.clock() + DAY
    assert store.tokens_due_at.timestamp() == pytest.approx(tomorrow, abs=60)
    assert _run(shopify_sandbox) == {}  # not hammered every hour

    admin = factories.UserFactory(is_staff=True, is_superuser=True)
    login_with_second_factor(client, admin)
    page = client.get("/admin/retailers/store/?token_migration=failed")
    assert page.status_code == 200
    text = page.content.decode()
    assert "1 Shopify store(s) could not be moved to an expiring access token" in text
    assert store.domain in text

    # A day later Shopify accepts: migrated, the warning gone.
    shopify_sandbox.app.refuse_token_exchange(SHOP, refused=False)
    shopify_sandbox.clock.advance(DAY + 1)
    assert _run(shopify_sandbox) == {"migrated": 1}
    assert _stored(store).token_migration_error == ""


@pytest.mark.django_db
def test_a_lost_exchange_answer_is_recovered_with_the_old_token(shopify_sandbox):
    store = shopify_sandbox.connect_store()
    old_token = store.credentials["access_token"]
    shopify_sandbox.app.lose_answers(SHOP, "token_exchange")

    assert _run(shopify_sandbox) == {"later": 1}
    assert _stored(store).credentials["access_token"] == old_token  # Shopify retired it though
    assert not _works_with(shopify_sandbox, old_token)

    # The next call gets a 401, asks again with the old token and gets the same pair.
    store = _stored(store)
    assert check_store_connection(store=store).name == "Maple And Co"
    store = _stored(store)
    assert store.status == Store.Status.CONNECTED
    assert store.credentials["refresh_token"] in shopify_sandbox.app.live_refresh_tokens(SHOP)
    assert shopify_sandbox.app.exchanges(SHOP) == 2
    assert len(shopify_sandbox.app.live_refresh_tokens(SHOP)) == 1
    later = datetime.datetime.fromtimestamp(shopify_sandbox.clock() + 16 * 60, tz=datetime.UTC)
    Store.objects.filter(pk=store.pk).update(tokens_due_at=later)
    assert keep_shopify_tokens_alive(now=later.timestamp()) == {"unchanged": 1}
