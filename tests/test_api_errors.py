"""The API's one contract for errors: RFC 9457 problem details on every error (Django's own 404,
405 and 413 included), range-checked numbers, 401 vs 403 vs 404, and a document that names every
schema once and lists every status an operation can answer."""

import json
from typing import get_args

import pytest
from django.test import Client
from pydantic import BaseModel

from dropship.accounts.services import create_api_key
from dropship.api import api
from dropship.core.problems import PROBLEM_CONTENT_TYPE
from orders.models import Order
from tests import factories
from tests.problems import problem

HUGE = "23938858702914660350296064"


@pytest.fixture
def supplier_secret(db):
    supplier = factories.SupplierFactory()
    return create_api_key(organisation=supplier, name="ERP", created_by=None)[1]


@pytest.fixture
def retailer_secret(db):
    retailer = factories.RetailerFactory()
    return create_api_key(organisation=retailer, name="Shop", created_by=None)[1]


def _bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/v1/supplier/products", {"limit": HUGE}, "limit"),
        ("/api/v1/supplier/orders", {"limit": HUGE}, "limit"),
        ("/api/v1/supplier/orders", {"cursor": "tampered"}, "cursor"),
        ("/api/v1/supplier/products", {"limit": 0}, "limit"),
    ],
)
def test_paging_parameters_out_of_range_answer_422_naming_the_parameter(
    client, supplier_secret, path, query, field
):
    response = client.get(path, query, **_bearer(supplier_secret))

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["field"] == field


@pytest.mark.parametrize(
    ("query", "field"), [({"limit": HUGE}, "limit"), ({"cursor": "tampered"}, "cursor")]
)
def test_huge_limit_or_tampered_cursor_on_invoices_answers_422_naming_it(
    client, retailer_secret, query, field
):
    response = client.get("/api/v1/billing/invoices", query, **_bearer(retailer_secret))

    assert response.status_code == 422
    assert response.json()["field"] == field


def test_validation_errors_list_every_field_in_the_problem_shape(client, supplier_secret):
    response = client.post(
        "/api/v1/supplier/inventory",
        data=json.dumps({"items": [{"sku": "A", "quantity": -1}, {"sku": "", "quantity": 1}]}),
        content_type="application/json",
        **_bearer(supplier_secret),
    )

    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert (body["type"], body["title"], body["status"], body["code"]) == (
        "about:blank",
        "Unprocessable Entity",
        422,
        "validation_error",
    )
    assert [(error["field"], error["code"]) for error in body["errors"]] == [
        ("items.0.quantity", "greater_than_equal"),
        ("items.1.sku", "string_too_short"),
    ]
    assert body["field"] == "items.0.quantity"
    assert body["detail"] == "items.0.quantity: Input should be greater than or equal to 0"


def test_a_nul_byte_in_a_query_answers_400_in_the_problem_shape(client, retailer_secret):
    for path in ("/api/v1/suppliers", "/api/v1/supplier/products"):
        response = client.get(path, {"q": "a\x00b"}, **_bearer(retailer_secret))

        assert response.status_code == 400
        assert problem(response) == {
            "detail": "The query parameter “q” contains a control character.",
            "field": None,
        }


def test_a_nul_byte_in_a_sku_answers_400_in_the_problem_shape(client, supplier_secret):
    in_path = client.put(
        "/api/v1/supplier/variants/a%00b/inventory",
        data=json.dumps({"quantity": 1}),
        content_type="application/json",
        **_bearer(supplier_secret),
    )
    in_body = client.post(
        "/api/v1/supplier/inventory",
        data=b'{"items": [{"sku": "a\\u0000b", "quantity": 1}]}',
        content_type="application/json",
        **_bearer(supplier_secret),
    )

    assert (in_path.status_code, problem(in_path)) == (
        400,
        {"detail": "The address contains a control character.", "field": None},
    )
    assert (in_body.status_code, problem(in_body)) == (
        400,
        {"detail": "The body contains a NUL character (\\u0000).", "field": None},
    )


def test_an_11_mb_order_answers_413_in_the_problem_shape_and_nothing_is_written(
    client, retailer_secret
):
    response = client.post(
        "/api/v1/orders",
        data=b'{"store_order_id": "1", "lines": [], "pad": "' + b"x" * (11 * 1024 * 1024) + b'"}',
        content_type="application/json",
        **_bearer(retailer_secret),
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert problem(response)["detail"].startswith("The request body is larger than the limit")
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "path", ["/api/v1/suppliers/null,null/products", "/api/v1/no-such-thing", "/api/v1/"]
)
def test_an_unknown_api_path_answers_a_json_404(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["code"] == "not_found"


def test_a_wrong_method_answers_405_in_the_problem_shape_with_allow(client, supplier_secret):
    response = client.delete("/api/v1/me", **_bearer(supplier_secret))

    assert response.status_code == 405
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response["Allow"] == "GET"
    assert response.json()["code"] == "method_not_allowed"


def test_no_credentials_answer_401_with_www_authenticate_even_on_a_post(db):
    client = Client(enforce_csrf_checks=True)  # as a real client: CSRF is checked

    response = client.post(
        "/api/v1/supplier/inventory",
        data=json.dumps({"items": [{"sku": "A", "quantity": 1}]}),
        content_type="application/json",
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="Dropship API"'
    assert response.json()["code"] == "authentication_required"


def test_a_wrong_key_is_401_a_key_of_the_other_kind_403_another_suppliers_order_404(
    client, supplier_secret, retailer_secret
):
    other_order = factories.SentSupplierOrderFactory()
    wrong = client.get("/api/v1/supplier/orders", **_bearer("dsk_wrong"))
    other_kind = client.get("/api/v1/supplier/orders", **_bearer(retailer_secret))
    not_mine = client.get(f"/api/v1/supplier/orders/{other_order.pk}", **_bearer(supplier_secret))

    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"] == 'Bearer realm="Dropship API", error="invalid_token"'
    assert wrong.json()["code"] == "invalid_api_key"
    assert other_kind.status_code == 403
    assert problem(other_kind) == {
        "detail": "This operation is for suppliers: use a supplier API key (dsk_…).",
        "field": None,
    }
    assert not_mine.status_code == 404
    assert not_mine.json()["code"] == "not_found"


def _models(annotation, found: set[type[BaseModel]]) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in found:
            return
        found.add(annotation)
        for field in annotation.model_fields.values():
            _models(field.annotation, found)
    for argument in get_args(annotation):
        _models(argument, found)


def test_no_two_schemas_share_a_name():
    found: set[type[BaseModel]] = set()
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in [*operation.models, *operation.response_models.values()]:
                    _models(model, found)
    # ninja's own wrappers (made in `abc`) and query inputs (flattened into parameters) are no
    # components of the document.
    ours = [
        model
        for model in found
        if not model.__module__.startswith(("ninja", "pydantic", "abc"))
        and not model.__qualname__.endswith(".Input")
    ]
    names: dict[str, list[str]] = {}
    for model in ours:
        names.setdefault(model.__name__, []).append(model.__module__)

    assert {name: modules for name, modules in names.items() if len(modules) > 1} == {}


def test_every_operation_documents_its_errors_as_problem_details(client):
    document = client.get("/api/v1/openapi.json").json()
    problem_content = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            expected = {"400", "413", "422", "429"}
            if operation.get("security"):
                expected |= {"401", "403"}
            if "{" in path:
                expected.add("404")
            assert expected <= set(responses), (method, path)
            for status, response in responses.items():
                if int(status) >= 400:
                    assert response["content"] == problem_content, (method, path, status)
            assert "Retry-After" in responses["429"]["headers"]
