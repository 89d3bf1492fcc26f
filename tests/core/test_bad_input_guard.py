"""The input guard (dropship/core/middleware.py) and the API's JSON parser: the answer names
what is wrong, and nothing is written."""

import pytest
from django.urls import reverse

from dropship.accounts.services import create_api_key
from retailers.models import PricingRule, StoreImportJob
from tests import factories
from tests.problems import problem

pytestmark = pytest.mark.django_db


def test_a_nul_in_the_supplier_directory_query_is_400_naming_the_parameter(client):
    response = client.get("/suppliers/", {"q": "lamp\x00"})

    assert response.status_code == 400
    assert response.content.decode() == "The query parameter “q” contains a control character."
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_a_nul_in_the_retailer_orders_query_is_400(retailer_client):
    response = retailer_client.get(reverse("orders:retailer_list"), {"q": "\x00"})

    assert response.status_code == 400


def test_text_areas_keep_tabs_and_line_breaks(retailer_client):
    response = retailer_client.get("/catalog/", {"q": "bamboo\tboard\r\n"})

    assert response.status_code == 200


def test_a_control_character_in_a_form_field_is_400_and_nothing_is_written(retailer_client):
    response = retailer_client.post(
        reverse("retailers:pricing_rule_new"), {"name": "Double\x07", "method": "MULTIPLIER"}
    )

    assert response.status_code == 400
    assert response.content.decode() == "The form field “name” contains a control character."
    assert not PricingRule.objects.exists()


def test_a_nul_in_the_address_is_400(client):
    response = client.get("/suppliers/a%00b/")

    assert response.status_code == 400
    assert response.content.decode() == "The address contains a control character."


def test_the_api_answers_json_naming_the_problem(client):
    retailer = factories.RetailerFactory()
    store = factories.StoreFactory(retailer=retailer)
    _, secret = create_api_key(organisation=retailer, name="CI", created_by=None)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    nul_query = client.get("/api/v1/catalog/search", {"q": "\x00"}, **headers)
    nul_body = client.post(
        "/api/v1/products/import",
        data=b'{"store_id": %d, "product_ids": [1], "note": "\\u0000"}' % store.pk,
        content_type="application/json",
        **headers,
    )
    deep_body = client.post(
        "/api/v1/products/import",
        data=b"[" * 100_000 + b"]" * 100_000,
        content_type="application/json",
        **headers,
    )

    assert (nul_query.status_code, problem(nul_query)) == (
        400,
        {"detail": "The query parameter “q” contains a control character.", "field": None},
    )
    assert (nul_body.status_code, problem(nul_body)) == (
        400,
        {"detail": "The body contains a NUL character (\\u0000).", "field": None},
    )
    assert (deep_body.status_code, problem(deep_body)) == (
        400,
        {"detail": "The body is nested too deeply (more than 64 levels).", "field": None},
    )
    assert not StoreImportJob.objects.exists()


def test_an_oversized_form_is_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = client.post(reverse("account_login"), {"login": "x" * 2048, "password": "y"})

    assert response.status_code == 413
    assert response.content.decode() == "The request body is larger than the limit of 1,024 bytes."
