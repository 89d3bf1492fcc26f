"""`Idempotency-Key` on the API's writes: the same key and request replay the first answer, the
same key with another request answers 422, a key in progress answers 409, server errors are not
kept, keys belong to one organisation, old records are purged. The stock push is the example
write; the mechanism is one middleware for every operation."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.utils import timezone

from catalog.models import StockMovement, Variant
from dropship.accounts.models import IdempotencyRecord
from dropship.accounts.services import create_api_key, purge_idempotency_records
from dropship.accounts.tasks import purge_idempotency_records_task
from dropship.api_idempotency import _request_hash
from tests import factories

URL = "/api/v1/supplier/inventory"


def _setup(sku: str = "MUG-1"):
    supplier = factories.SupplierFactory()
    variant = factories.VariantFactory(product__supplier=supplier, sku=sku, stock_on_hand=1)
    _, secret = create_api_key(organisation=supplier, name="WMS", created_by=None)
    return supplier, variant, secret


def _push(client, secret: str, quantity: int, key: str | None = "key-1", sku: str = "MUG-1"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(
        URL,
        json.dumps({"items": [{"sku": sku, "quantity": quantity}]}),
        content_type="application/json",
        **headers,
    )


@pytest.mark.django_db
@pytest.mark.embedded
def test_the_same_key_and_body_replays_the_first_answer_without_doing_it_again(client):
    _, variant, secret = _setup()

    first = _push(client, secret, 5)
    Variant.objects.filter(pk=variant.pk).update(stock_on_hand=7)  # changed meanwhile
    again = _push(client, secret, 5)

    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert json.loads(again.content)["updated"] == ["MUG-1"]
    assert again["Content-Type"] == first["Content-Type"]
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert "RateLimit-Remaining" in again  # the limiter's fields are fresh, not replayed
    variant.refresh_from_db()
    assert variant.stock_on_hand == 7
    assert StockMovement.objects.filter(variant=variant).count() == 1


@pytest.mark.django_db
@pytest.mark.embedded
def test_the_same_key_with_another_body_answers_422_and_changes_nothing(client):
    _, variant, secret = _setup()
    _push(client, secret, 5)

    reused = _push(client, secret, 9)

    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert reused.json()["field"] == "Idempotency-Key"
    variant.refresh_from_db()
    assert variant.stock_on_hand == 5


@pytest.mark.django_db
def test_keys_belong_to_one_organisation(client):
    _, mine, my_secret = _setup()
    _, theirs, their_secret = _setup(sku="MUG-1")

    _push(client, my_secret, 5)
    other = _push(client, their_secret, 6)

    assert other.status_code == 200
    assert "Idempotent-Replayed" not in other
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.stock_on_hand, theirs.stock_on_hand) == (5, 6)
    assert IdempotencyRecord.objects.filter(key="key-1").count() == 2


@pytest.mark.django_db
def test_a_key_without_the_scope_never_gets_a_replay(client):
    supplier, _, secret = _setup()
    _, reader = create_api_key(
        organisation=supplier, name="Reports", created_by=None, scopes=["stock:read"]
    )
    _push(client, secret, 5)

    refused = _push(client, reader, 5)

    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert "Idempotent-Replayed" not in refused


@pytest.mark.django_db
def test_calls_without_the_header_are_not_affected(client):
    _, variant, secret = _setup()

    _push(client, secret, 5, key=None)
    _push(client, secret, 6, key=None)

    variant.refresh_from_db()
    assert variant.stock_on_hand == 6
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "naïve"])
def test_a_malformed_key_answers_422_naming_the_header(client, key):
    _, variant, secret = _setup()

    response = _push(client, secret, 5, key=key)

    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == (
        "invalid_idempotency_key",
        "Idempotency-Key",
    )
    variant.refresh_from_db()
    assert variant.stock_on_hand == 1


@pytest.mark.django_db
def test_a_server_error_is_not_kept_so_the_retry_runs(client, monkeypatch):
    _, variant, secret = _setup()
    from catalog.api import supplier as supplier_api

    real = supplier_api.services.set_stock_levels

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(supplier_api.services, "set_stock_levels", broken)
    failed = _push(client, secret, 5)
    monkeypatch.setattr(supplier_api.services, "set_stock_levels", real)
    retried = _push(client, secret, 5)

    assert failed.status_code == 500
    assert retried.status_code == 200
    assert "Idempotent-Replayed" not in retried
    variant.refresh_from_db()
    assert variant.stock_on_hand == 5


def _record_in_progress(supplier, secret: str, *, age: timedelta) -> IdempotencyRecord:
    request = RequestFactory().post(
        URL,
        json.dumps({"items": [{"sku": "MUG-1", "quantity": 5}]}),
        content_type="application/json",
    )
    return IdempotencyRecord.objects.create(
        supplier=supplier,
        key="key-1",
        request_hash=_request_hash(request),
        created_at=timezone.now() - age,
    )


@pytest.mark.django_db
def test_a_key_still_in_progress_answers_409(client):
    supplier, variant, secret = _setup()
    _record_in_progress(supplier, secret, age=timedelta(seconds=5))

    response = _push(client, secret, 5)

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_progress"
    assert response["Retry-After"] == "1"
    variant.refresh_from_db()
    assert variant.stock_on_hand == 1


@pytest.mark.django_db
def test_a_key_left_in_progress_by_a_dead_process_is_taken_over(client):
    supplier, variant, secret = _setup()
    _record_in_progress(supplier, secret, age=timedelta(minutes=10))

    response = _push(client, secret, 5)

    assert response.status_code == 200
    variant.refresh_from_db()
    assert variant.stock_on_hand == 5


@pytest.mark.django_db
def test_after_24_hours_the_key_can_be_used_for_a_new_request(client):
    _, variant, secret = _setup()
    _push(client, secret, 5)
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

    response = _push(client, secret, 9)

    assert response.status_code == 200
    variant.refresh_from_db()
    assert variant.stock_on_hand == 9


@pytest.mark.django_db
def test_the_purge_deletes_records_past_24_hours_and_runs_twice_safely(client):
    _, _, secret = _setup()
    _push(client, secret, 5, key="old")
    _push(client, secret, 6, key="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=24, seconds=1)
    )

    assert purge_idempotency_records_task() == 1
    assert purge_idempotency_records() == 0
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_call_with_a_key_in_progress_answers_409_and_the_work_is_done_once():
    """PostgreSQL: call A holds the key while it waits on the variant's row lock; call B with the
    same key meanwhile answers 409 at once; after A finishes, C replays A's answer."""
    _, variant, secret = _setup()
    answers: dict[str, object] = {}

    def call(name: str) -> None:
        try:
            answers[name] = _push(Client(), secret, 5)
        finally:
            connection.close()

    with transaction.atomic():
        Variant.objects.select_for_update().get(pk=variant.pk)  # A will wait on this lock
        first = threading.Thread(target=call, args=("A",))
        first.start()
        deadline = time.monotonic() + 20
        while not IdempotencyRecord.objects.filter(key="key-1").exists():
            assert time.monotonic() < deadline, "call A never claimed its key"
            time.sleep(0.02)
        second = threading.Thread(target=call, args=("B",))
        second.start()
        second.join()
    first.join()
    call("C")

    assert (answers["A"].status_code, answers["B"].status_code) == (200, 409)
    assert answers["B"].json()["code"] == "idempotency_key_in_progress"
    assert answers["C"].status_code == 200
    assert answers["C"]["Idempotent-Replayed"] == "true"
    assert answers["C"].content == answers["A"].content
    variant.refresh_from_db()
    assert variant.stock_on_hand == 5
    assert StockMovement.objects.filter(variant=variant).count() == 1
