"""GET /api/v1/suppliers/{id}/scorecard: the public scorecard of an active supplier, a
problem+json 404 for any other id, and the same scope as the rest of /suppliers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dropship.api_scopes import required_scope
from tests import factories
from tests.problems import problem

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _url(supplier_id: int) -> str:
    return f"/api/v1/suppliers/{supplier_id}/scorecard"


def test_public_scorecard_of_an_active_supplier(client, settings):
    settings.SCORECARD_MIN_ORDERS = 2
    supplier = factories.SupplierFactory(handling_days=2)
    now = timezone.now()
    for accepted_hours, shipped_days in ((2, 1), (4, 3)):
        sent = now - timedelta(days=10)
        factories.SupplierOrderFactory(
            supplier=supplier,
            status="SHIPPED",
            sent_at=sent,
            accepted_at=sent + timedelta(hours=accepted_hours),
            shipped_at=sent + timedelta(days=shipped_days),
        )

    response = client.get(_url(supplier.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["supplier_id"] == supplier.pk
    assert body["is_new_supplier"] is False
    # 40 × 1/2 + 25 + 15 + 20 (p90 3.8 h is within 24 h) = 80
    assert body["reliability_score"] == 80
    assert body["score_formula"].startswith("Score = 40 × share shipped within handling time")
    assert body["last_30_days"] == {
        "days": 30,
        "orders": 2,
        "acceptance_p50_hours": 3.0,
        "acceptance_p90_hours": 3.8,
        "shipped_within_handling_time_percent": 50.0,
        "rejected_after_order_percent": 0.0,
        "cancelled_by_supplier_percent": 0.0,
        "returns_disputes_percent": None,
        "valid_tracking_first_try_percent": None,  # no parcel rows: nothing to measure
        "stock_out_at_order_percent": None,
        "messages_awaiting_first_reply": 0,
        "first_reply_p50_hours": None,
    }
    assert "improvements" not in body  # the supplier's tips are not public


def test_a_new_supplier_has_no_score(client):
    body = client.get(_url(factories.SupplierFactory().pk)).json()
    assert body["is_new_supplier"] is True
    assert body["reliability_score"] is None
    assert body["last_90_days"]["acceptance_p50_hours"] is None


@pytest.mark.parametrize("status", ["PENDING", "SUSPENDED", "REJECTED"])
def test_a_supplier_that_is_not_active_is_not_found(client, status):
    supplier = factories.SupplierFactory(status=status)
    response = client.get(_url(supplier.pk))
    assert response.status_code == 404
    assert problem(response) == {
        "detail": f"There is no active supplier number {supplier.pk}.",
        "field": "supplier_id",
    }


def test_an_unknown_supplier_is_not_found(client):
    response = client.get(_url(987654))
    assert response.status_code == 404
    assert problem(response)["field"] == "supplier_id"


def test_it_is_in_the_catalog_area_like_the_rest_of_suppliers():
    assert required_scope(method="GET", path=_url(3)) == "catalog:read"
