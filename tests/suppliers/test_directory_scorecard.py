"""The public supplier pages show the measured reliability score from the nightly row (or "new
supplier"), never the rating an admin typed, and read it without a query per supplier."""

import pytest
from django.urls import reverse
from django.utils import timezone

from suppliers.models import SupplierScorecard
from tests.factories import SupplierFactory

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_directory_shows_the_measured_score_or_new_supplier(client, django_assert_max_num_queries):
    scored = SupplierFactory(company_name="Aspen Supply", rating="1.20")
    SupplierScorecard.objects.create(
        supplier=scored, computed_at=timezone.now(), orders=40, score=91
    )
    few_orders = SupplierFactory(company_name="Birch Supply", rating="4.90")
    SupplierScorecard.objects.create(supplier=few_orders, computed_at=timezone.now(), orders=3)
    SupplierFactory(company_name="Cedar Supply")  # not scored yet
    for _ in range(3):
        SupplierScorecard.objects.create(
            supplier=SupplierFactory(), computed_at=timezone.now(), score=50
        )

    with django_assert_max_num_queries(3):
        body = client.get(reverse("suppliers:directory")).content.decode()

    aspen, birch, cedar = (body.split(name)[1][:400] for name in ("Aspen", "Birch", "Cedar"))
    assert "reliability score <strong>91</strong>/100" in aspen
    assert "new supplier" in birch
    assert "new supplier" in cedar
    for typed in ("rated", "1.20", "4.90"):
        assert typed not in body


def test_profile_shows_the_score(client):
    supplier = SupplierFactory(company_name="Aspen Supply")
    SupplierScorecard.objects.create(supplier=supplier, computed_at=timezone.now(), score=77)
    body = client.get(reverse("suppliers:profile", args=[supplier.slug])).content.decode()
    assert "reliability score <strong>77</strong>/100" in body
