"""Encryption at rest: the raw columns hold Fernet tokens, keys rotate, rows move to the new key."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from orders.models import Order
from retailers.models import Store
from suppliers.models import Supplier
from tests import factories

ADDRESS = {
    "name": "Bob Norman",
    "address1": "Chestnut Street 92",
    "city": "Louisville",
    "zip": "40202",
    "country": "US",
}
# (model, column, plaintext that must never appear in the raw column)
ENCRYPTED_COLUMNS = [
    (Store, "credentials", "shpat_s3cr3t_access_token"),
    (Store, "webhook_secret", "woo-hook-secret-991"),
    (Order, "shipping_address", "Chestnut Street 92"),
    (Order, "shopper_name", "Bob Norman"),
    (Order, "shopper_email", "bob@shopper.test"),
    (Supplier, "webhook_secret", "supplier-whsec-42"),
]


def raw_value(model, column: str, pk: int) -> str:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn(column)} FROM {qn(model._meta.db_table)} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return cursor.fetchone()[0]


@pytest.fixture
def secrets_at_rest(db):
    store = factories.StoreFactory(
        credentials={"access_token": "shpat_s3cr3t_access_token"},
        webhook_secret="woo-hook-secret-991",
    )
    order = factories.OrderFactory(
        store=store,
        shipping_address=ADDRESS,
        shopper_name="Bob Norman",
        shopper_email="bob@shopper.test",
    )
    supplier = factories.SupplierFactory(webhook_secret="supplier-whsec-42")
    return {Store: store.pk, Order: order.pk, Supplier: supplier.pk}


def test_encrypted_columns_hold_fernet_tokens_never_the_plaintext(secrets_at_rest):
    for model, column, plaintext in ENCRYPTED_COLUMNS:
        raw = raw_value(model, column, secrets_at_rest[model])
        assert plaintext not in raw, f"{model.__name__}.{column} stores plaintext"
        assert raw.startswith("gAAAAA"), f"{model.__name__}.{column} is not a Fernet token"

    store = Store.objects.get(pk=secrets_at_rest[Store])
    assert store.credentials == {"access_token": "shpat_s3cr3t_access_token"}
    assert Order.objects.get(pk=secrets_at_rest[Order]).shipping_address == ADDRESS


def test_values_still_decrypt_after_a_new_primary_key_is_prepended(secrets_at_rest, settings):
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old_keys]

    store = Store.objects.get(pk=secrets_at_rest[Store])
    assert store.credentials == {"access_token": "shpat_s3cr3t_access_token"}
    assert store.webhook_secret == "woo-hook-secret-991"
    order = Order.objects.get(pk=secrets_at_rest[Order])
    assert (order.shipping_address, order.shopper_email) == (ADDRESS, "bob@shopper.test")

    # New writes use the new key.
    order.shopper_name = "Robert Norman"
    order.save(update_fields=["shopper_name"])
    token = raw_value(Order, "shopper_name", order.pk)
    assert Fernet(new_key.encode()).decrypt(token.encode()) == b"Robert Norman"


def test_reencrypt_moves_every_value_to_the_new_key_and_a_second_run_moves_none(
    secrets_at_rest, settings
):
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    new_only = Fernet(new_key.encode())
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old_keys]
    before = {
        (model, column): raw_value(model, column, secrets_at_rest[model])
        for model, column, _ in ENCRYPTED_COLUMNS
    }
    for token in before.values():
        with pytest.raises(InvalidToken):
            new_only.decrypt(token.encode())

    first = StringIO()
    call_command("reencrypt_fields", stdout=first)

    assert "Done: 6 values moved to the newest key." in first.getvalue()
    for model, column, plaintext in ENCRYPTED_COLUMNS:
        token = raw_value(model, column, secrets_at_rest[model])
        assert token != before[(model, column)]
        assert plaintext in new_only.decrypt(token.encode()).decode()

    second = StringIO()
    call_command("reencrypt_fields", stdout=second)
    assert "Done: 0 values moved to the newest key." in second.getvalue()

    # The old key can now be dropped.
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert Store.objects.get(pk=secrets_at_rest[Store]).credentials == {
        "access_token": "shpat_s3cr3t_access_token"
    }


def test_dropping_a_key_before_reencrypting_fails_with_a_clear_message(secrets_at_rest, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted with any key"):
        Store.objects.get(pk=secrets_at_rest[Store])
