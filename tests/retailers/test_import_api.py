"""POST /api/v1/products/import and GET /api/v1/jobs/{id} with retailer API keys."""

from decimal import Decimal

import pytest

from dropship.accounts.services import create_api_key
from retailers.models import Listing, PricingRule, StoreImportJob
from tests.factories import (
    ProductFactory,
    RetailerFactory,
    StoreFactory,
    SupplierFactory,
    VariantFactory,
)
from tests.problems import problem


def _key(organisation) -> dict:
    _, secret = create_api_key(organisation=organisation, name="CI", created_by=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _product():
    product = ProductFactory(title="Stoneware mug")
    VariantFactory(product=product, sku="MUG-1", wholesale_price=Decimal("4.00"), msrp=None)
    return product


@pytest.mark.django_db(transaction=True)
def test_import_answers_202_with_a_job_that_reports_its_result(client, shopify_sandbox):
    retailer = RetailerFactory()
    rule = PricingRule.objects.create(
        retailer=retailer, name="Triple", method="MULTIPLIER", value=3, rounding="WHOLE"
    )
    store = shopify_sandbox.connect_store(retailer=retailer)
    product = _product()
    headers = _key(retailer)

    response = client.post(
        "/api/v1/products/import",
        {"store_id": store.pk, "product_ids": [product.pk], "pricing_rule_id": rule.pk},
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 202
    job_id = response.json()["job_id"]
    status = client.get(f"/api/v1/jobs/{job_id}", **headers)
    assert status.status_code == 200
    body = status.json()
    assert (body["status"], body["total"], body["succeeded"], body["failed"]) == (
        "COMPLETED",
        1,
        1,
        0,
    )
    assert body["progress_percent"] == 100
    assert body["errors"] == []
    listing = Listing.objects.get(store=store, product=product)
    assert listing.pricing_rule == rule
    assert listing.variants.get().retail_price == Decimal("12.00")


@pytest.mark.django_db
def test_another_retailers_store_and_job_are_not_found(client):
    retailer = RetailerFactory()
    foreign = StoreFactory()
    headers = _key(retailer)

    response = client.post(
        "/api/v1/products/import",
        {"store_id": foreign.pk, "product_ids": [_product().pk]},
        content_type="application/json",
        **headers,
    )
    other_job = StoreImportJob.objects.create(retailer=foreign.retailer, store=foreign)

    assert response.status_code == 404
    assert client.get(f"/api/v1/jobs/{other_job.pk}", **headers).status_code == 404
    assert StoreImportJob.objects.count() == 1


@pytest.mark.django_db
def test_a_disconnected_store_answers_400(client):
    retailer = RetailerFactory()
    store = StoreFactory(retailer=retailer, status="NEEDS_RECONNECT", name="Maple")

    disconnected = client.post(
        "/api/v1/products/import",
        {"store_id": store.pk, "product_ids": [_product().pk]},
        content_type="application/json",
        **_key(retailer),
    )

    assert disconnected.status_code == 400
    assert "Maple refused our access and needs reconnecting" in disconnected.json()["detail"]
    assert not StoreImportJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make",
    [
        lambda: ProductFactory(title="Secret lamp", status="DRAFT"),
        lambda: ProductFactory(
            title="Secret lamp", supplier=SupplierFactory(status="SUSPENDED", company_name="Gone")
        ),
        lambda: ProductFactory(
            title="Secret lamp", supplier=SupplierFactory(status="PENDING", company_name="New")
        ),
    ],
    ids=["draft", "supplier-suspended", "supplier-pending"],
)
def test_a_product_outside_the_catalog_answers_404_like_a_missing_one(client, make):
    retailer = RetailerFactory()
    store = StoreFactory(retailer=retailer)
    headers = _key(retailer)
    hidden = make()
    missing_id = hidden.pk + 1000

    def import_(product_id):
        return client.post(
            "/api/v1/products/import",
            {"store_id": store.pk, "product_ids": [product_id]},
            content_type="application/json",
            **headers,
        )

    refused, missing = import_(hidden.pk), import_(missing_id)

    assert (refused.status_code, missing.status_code) == (404, 404)
    assert problem(refused) == {
        "detail": f"These products do not exist: {hidden.pk}.",
        "field": "product_ids",
    }
    assert missing.json()["detail"] == f"These products do not exist: {missing_id}."
    assert not StoreImportJob.objects.exists()


@pytest.mark.django_db
def test_bad_bodies_answer_422_and_supplier_keys_403(client):
    retailer = RetailerFactory()
    store = StoreFactory(retailer=retailer)

    empty = client.post(
        "/api/v1/products/import",
        {"store_id": store.pk, "product_ids": []},
        content_type="application/json",
        **_key(retailer),
    )
    supplier = client.post(
        "/api/v1/products/import",
        {"store_id": store.pk, "product_ids": [1]},
        content_type="application/json",
        **_key(SupplierFactory()),
    )

    assert empty.status_code == 422
    assert supplier.status_code == 403
    assert not StoreImportJob.objects.exists()


@pytest.mark.django_db
def test_a_retailer_creates_a_key_on_its_page_uses_it_and_revokes_it(retailer_client):
    import re

    from django.test import Client
    from django.urls import reverse

    from dropship.accounts.models import ApiKey

    page = retailer_client.post(reverse("accounts:api_keys"), {"name": "Store sync"})
    secret = re.search(r'id="new-secret">(drk_[^<]+)<', page.content.decode())[1]
    api = Client()
    store = StoreFactory(retailer=retailer_client.retailer)
    job = StoreImportJob.objects.create(retailer=retailer_client.retailer, store=store)

    assert api.get(f"/api/v1/jobs/{job.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}").json()[
        "status"
    ] == ("QUEUED")
    key = ApiKey.objects.get(retailer=retailer_client.retailer)
    retailer_client.post(reverse("accounts:revoke_api_key", args=[key.pk]))
    assert (
        api.get(f"/api/v1/jobs/{job.pk}", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    )
