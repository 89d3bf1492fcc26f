"""Schema-driven testing of the whole JSON API: schemathesis reads /api/v1/openapi.json, generates
valid and invalid requests for every operation, sends them with a supplier's and a retailer's API
key, and checks every answer: no 5xx, a documented status code and content type, and a body that
matches the documented schema. Examples per operation are bounded and derandomized, so the run is
the same on every machine and short enough for `make test`. Every status the document lists for
an operation must be answered at least once in the run, or be in NOT_REACHED_BY_FUZZING with the
reason and the test that proves it instead. The run prints its operations, cases and time.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dropship.accounts.services import create_api_key
from tests import factories

EXAMPLES_PER_OPERATION = 8
# Documented statuses a fuzzer with valid keys cannot provoke, and where each is proven instead.
NOT_REACHED_BY_FUZZING = {
    "400": "a control character (the input guard) or a value the operation refuses itself: eight "
    "examples do not always send one; tests/test_bad_input_sweep.py sweeps every path",
    "401": "the run sends valid keys; tests/test_api_scopes.py::test_401_403_404_matrix",
    "403": "the run's keys hold every scope; tests/test_api_scopes.py (insufficient_scope, the "
    "other kind's key, a team's second factor in tests/accounts/test_mfa.py)",
    "409": "a state conflict or an Idempotency-Key still in progress needs a prepared state or a "
    "concurrent call; tests/test_api_idempotency.py, tests/orders/test_fulfilment_concurrency.py",
    "413": "no body over 10 MB is generated; tests/test_api_errors.py",
    "429": "the limiter is raised for the run; tests/test_api_rate_limits.py",
}
_EXISTING = "needs an existing object of the caller's, which random ids do not find; "
_FREE_TEXT = "no parameter the fuzzer can make invalid (none, or free text the operation checks "
_FREE_TEXT += "itself and answers 400); the 422 is the common answer every operation documents"
NOT_REACHED_BY_OPERATION = {
    "GET /api/v1/me": {"422": _FREE_TEXT},
    "GET /api/v1/sync/status": {"422": _FREE_TEXT},
    "GET /api/v1/analytics/sales": {"422": _FREE_TEXT},
    "GET /api/v1/catalog/search": {"422": _FREE_TEXT},
    "GET /api/v1/suppliers": {"422": _FREE_TEXT},
    "GET /api/v1/suppliers/{supplier_id}/products": {
        "200": _EXISTING + "tests/retailers/test_catalog_api.py",
        "422": _FREE_TEXT,
    },
    "GET /api/v1/suppliers/{supplier_id}/scorecard": {
        "200": _EXISTING + "tests/orders/test_scorecard_api.py",
        "422": _FREE_TEXT,
    },
    "GET /api/v1/billing/invoices/{number}": {
        "200": _EXISTING + "tests/billing/test_invoices.py",
        "422": _FREE_TEXT,
    },
    "GET /api/v1/jobs/{job_id}": {"200": _EXISTING + "tests/retailers/test_import_api.py"},
    "GET /api/v1/orders/{order_id}/status": {"200": _EXISTING + "tests/orders/test_api.py"},
    "GET /api/v1/supplier/orders/{supplier_order_id}": {
        "200": _EXISTING + "the stateful run below, tests/orders/test_supplier_api.py"
    },
    "POST /api/v1/supplier/orders/{supplier_order_id}/accept": {
        "200": _EXISTING + "the stateful run below, tests/orders/test_supplier_api.py",
    },
    "POST /api/v1/supplier/orders/{supplier_order_id}/reject": {
        "200": _EXISTING + "tests/orders/test_fulfilment.py"
    },
    "POST /api/v1/supplier/orders/{supplier_order_id}/ship": {
        "200": _EXISTING + "the stateful run below, tests/orders/test_supplier_api.py"
    },
    "PUT /api/v1/supplier/variants/{sku}/inventory": {
        "200": _EXISTING + "(a SKU of the supplier's); tests/catalog/test_api.py"
    },
    "POST /api/v1/orders": {
        "200": "a repeat of an order already received (a store order id the fuzzer would have "
        "to send twice); tests/orders/test_api.py",
        "201": "lines that match the retailer's listings, which random bodies do not; "
        "tests/orders/test_api.py",
        "404": "a valid order naming a custom store that is not the caller's; random bodies fail "
        "validation first; tests/orders/test_api.py",
    },
    "POST /api/v1/returns": {
        "201": "lines of the retailer's own delivered order, which random ids do not name; "
        "tests/orders/test_returns_api.py",
        "404": "a valid body naming another retailer's order; tests/orders/test_returns_api.py",
    },
    "GET /api/v1/returns/{return_id}": {
        "200": _EXISTING + "tests/orders/test_returns_api.py",
        "422": "the only parameter is the id in the path, matched as a number by the URL",
    },
    "POST /api/v1/returns/{return_id}/tracking": {
        "200": _EXISTING + "(approved); tests/orders/test_returns_api.py"
    },
    "POST /api/v1/returns/{return_id}/accept-offer": {
        "200": _EXISTING + "(with an offer); tests/orders/test_returns_api.py",
        "422": "no body and a numeric path id: nothing the fuzzer can make invalid",
    },
    "POST /api/v1/returns/{return_id}/refuse-offer": {
        "200": _EXISTING + "(with an offer); tests/orders/test_returns.py"
    },
    "GET /api/v1/supplier/returns/{return_id}": {
        "200": _EXISTING + "tests/orders/test_returns_api.py",
        "422": "the only parameter is the id in the path, matched as a number by the URL",
    },
    "POST /api/v1/supplier/returns/{return_id}/approve": {
        "200": _EXISTING + "tests/orders/test_returns_api.py"
    },
    "POST /api/v1/supplier/returns/{return_id}/decline": {
        "200": _EXISTING + "tests/orders/test_returns.py, tests/orders/test_returns_api.py"
    },
    "POST /api/v1/supplier/returns/{return_id}/offer": {
        "200": _EXISTING + "tests/orders/test_returns_api.py"
    },
    "POST /api/v1/supplier/returns/{return_id}/receive": {
        "200": _EXISTING + "(sent back); tests/orders/test_returns_api.py"
    },
    "POST /api/v1/supplier/orders/{supplier_order_id}/delivered": {
        "200": _EXISTING + "(shipped); tests/orders/test_supplier_delivered.py"
    },
    "GET /api/v1/threads/{thread_id}": {
        "200": _EXISTING + "tests/messaging/test_api.py",
        "422": "the only parameters are ids in the path, which the URL pattern matches as numbers "
        "(anything else is a 404)",
    },
    "GET /api/v1/threads/{thread_id}/attachments/{attachment_id}": {
        "200": _EXISTING + "tests/messaging/test_api.py",
        "422": "the only parameters are ids in the path, which the URL pattern matches as numbers "
        "(anything else is a 404)",
    },
    "POST /api/v1/threads": {
        "201": "a supplier order of the caller's, which random ids do not find; "
        "tests/messaging/test_api.py"
    },
    "POST /api/v1/threads/{thread_id}/messages": {"201": _EXISTING + "tests/messaging/test_api.py"},
    "POST /api/v1/threads/{thread_id}/read": {"200": _EXISTING + "tests/messaging/test_api.py"},
    "GET /api/v1/orders/{order_id}": {"200": _EXISTING + "tests/retailers/test_retailer_api.py"},
    "GET /api/v1/stores/{store_id}": {"200": _EXISTING + "tests/retailers/test_retailer_api.py"},
    "POST /api/v1/stores": {
        "201": "a WooCommerce shop that answers, or a custom store with a supported currency, "
        "which random bodies do not send; tests/retailers/test_retailer_api.py"
    },
    "POST /api/v1/stores/{store_id}/disconnect": {
        "200": _EXISTING + "tests/retailers/test_retailer_api.py"
    },
    "PATCH /api/v1/listings/{listing_id}": {
        "200": _EXISTING + "tests/retailers/test_retailer_api.py"
    },
    "POST /api/v1/listings/{listing_id}/unlist": {
        "200": _EXISTING + "tests/retailers/test_retailer_api.py"
    },
    "POST /api/v1/listings/{listing_id}/resync": {
        "202": _EXISTING + "tests/retailers/test_retailer_api.py"
    },
    "GET /api/v1/pricing-rules/{rule_id}": {
        "200": _EXISTING + "tests/retailers/test_retailer_api.py"
    },
    "PUT /api/v1/pricing-rules/{rule_id}": {
        "200": _EXISTING + "tests/retailers/test_retailer_api.py"
    },
    "DELETE /api/v1/pricing-rules/{rule_id}": {
        "204": _EXISTING + "tests/retailers/test_retailer_api.py"
    },
    "GET /api/v1/supplier/products/{product_id}": {
        "200": _EXISTING + "tests/catalog/test_product_api.py",
        "422": "the only parameter is the id in the path, which the URL pattern matches as a "
        "number (anything else is a 404)",
    },
    "PATCH /api/v1/supplier/products/{product_id}": {
        "200": _EXISTING + "tests/catalog/test_product_api.py"
    },
    "POST /api/v1/supplier/products/{product_id}/archive": {
        "200": _EXISTING + "tests/catalog/test_product_api.py"
    },
    "POST /api/v1/supplier/products/{product_id}/variants": {
        "201": _EXISTING + "tests/catalog/test_product_api.py"
    },
    "POST /api/v1/supplier/products/{product_id}/images": {
        "201": _EXISTING + "and an image server that answers; tests/catalog/test_product_api.py",
        "502": "an image server that fails, which the run has none of; "
        "tests/catalog/test_product_api.py",
    },
    "PATCH /api/v1/supplier/variants/{variant_id}": {
        "200": _EXISTING + "tests/catalog/test_product_api.py"
    },
    "GET /api/v1/supplier/orders/{supplier_order_id}/packing-slip": {
        "200": _EXISTING + "tests/orders/test_supplier_api.py"
    },
    "GET /api/v1/supplier/shipping-rates": {"422": _FREE_TEXT},
    "GET /api/v1/cases/{case_id}": {"200": _EXISTING + "tests/orders/test_case_pages.py"},
    "POST /api/v1/cases": {
        "201": _EXISTING + "(a shipped supplier order of the caller's); "
        "tests/orders/test_case_pages.py"
    },
    "POST /api/v1/cases/{case_id}/statements": {
        "201": _EXISTING + "(an open case of the caller's); tests/orders/test_case_pages.py"
    },
    "POST /api/v1/products/import": {
        "202": _EXISTING + "(products of active suppliers and a store); "
        "tests/retailers/test_import_api.py"
    },
}
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler in the test's transaction: like the test client, it must not close
    the connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _keys() -> dict[str, str]:
    supplier = factories.SupplierFactory()
    product = factories.ProductFactory(supplier=supplier)
    factories.VariantFactory(product=product, sku="SKU-1", stock_on_hand=5)
    factories.make_supplier_order(supplier=supplier)  # the orders list has one to follow links to
    retailer = factories.RetailerFactory()
    factories.StoreFactory(retailer=retailer)
    _, supplier_key = create_api_key(organisation=supplier, name="fuzz", created_by=None)
    _, retailer_key = create_api_key(organisation=retailer, name="fuzz", created_by=None)
    return {"supplier": supplier_key, "retailer": retailer_key}


def _check_operation(
    operation,
    mode,
    key_name: str,
    headers: dict,
    failures: list[str],
    counts: Counter,
    seen: dict[str, set[str]],
) -> None:
    titles: set[str] = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        # Each request in a savepoint, as if in its own transaction: a failed one must not
        # abort the test's transaction, and no case sees another's writes.
        savepoint = transaction.savepoint()
        try:
            response = case.call(headers=headers)
        finally:
            transaction.savepoint_rollback(savepoint)
        counts["cases"] += 1
        counts["server errors"] += response.status_code >= 500
        seen[f"{operation.method.upper()} {operation.path}"].add(str(response.status_code))
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # one failure or a group of them
            counts["failed checks"] += 1
            for failure in getattr(exc, "exceptions", [exc]):
                title = getattr(failure, "title", type(failure).__name__)
                if title not in titles:
                    titles.add(title)
                    failures.append(
                        f"{operation.method.upper()} {operation.path} [{key_name}] "
                        f"{response.status_code}: {title}"
                    )

    check()


def run_contract(app) -> tuple[list[str], Counter, list[str]]:
    """Every failure as `METHOD path [key] status: what`, once per operation, key and check;
    how many operations and cases ran, answered 5xx and failed a check; and the documented
    statuses no case reached (outside NOT_REACHED_BY_FUZZING)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    counts: Counter = Counter()
    seen: dict[str, set[str]] = defaultdict(set)
    documented: dict[str, set[str]] = {}
    started = time.monotonic()
    for key_name, key in _keys().items():
        headers = {"Authorization": f"Bearer {key}"}
        for result in schema.get_all_operations():
            operation = result.ok()
            label = f"{operation.method.upper()} {operation.path}"
            documented[label] = {str(status) for status in operation.definition.raw["responses"]}
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _check_operation(operation, mode, key_name, headers, failures, counts, seen)
    counts["operations"] = len(documented)
    counts["seconds"] = round(time.monotonic() - started)
    unreached = [
        f"{label} {status}"
        for label, statuses in sorted(documented.items())
        for status in sorted(
            statuses
            - seen[label]
            - set(NOT_REACHED_BY_FUZZING)
            - set(NOT_REACHED_BY_OPERATION.get(label, {}))
        )
    ]
    return failures, counts, unreached


@pytest.mark.django_db
def test_every_operation_answers_as_documented_for_supplier_and_retailer_keys(wsgi_app, settings):
    settings.API_RATE_LIMIT_PER_KEY = "100000/m"  # the limiter has its own tests
    failures, counts, unreached = run_contract(wsgi_app)

    print(dict(counts), *failures, *unreached, sep="\n")  # noqa: T201  # the lists when it fails

    assert failures == []
    assert unreached == []


@pytest.mark.django_db
def test_linked_operations_answer_as_documented_in_sequence(wsgi_app, settings):
    """Stateful: schemathesis follows the document's links (dropship/api.py LINKS: a listed
    supplier order is fetched, accepted and shipped; a created order's status read; an import
    job polled), each step on the state the previous ones left."""
    settings.API_RATE_LIMIT_PER_KEY = "100000/m"
    settings.API_RATE_LIMIT_PER_IP_TOTAL = "100000/m"
    keys = _keys()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app)
    calls: Counter = Counter()

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case):
            kind = "supplier" if case.path.startswith("/api/v1/supplier/") else "retailer"
            return {"headers": {"Authorization": f"Bearer {keys[kind]}"}}

        def call(self, case, **kwargs):
            # A step's writes stay for the next steps; a failed one is undone (and reported).
            savepoint = transaction.savepoint()
            response = case.call(**kwargs)
            if response.status_code >= 500:
                transaction.savepoint_rollback(savepoint)
            else:
                transaction.savepoint_commit(savepoint)
            calls[f"{case.method} {case.path} {response.status_code}"] += 1
            return response

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(
        settings=_stateful_settings(),
    )

    print(sum(calls.values()), "stateful calls", dict(calls))  # noqa: T201
    assert any(label.startswith("POST /api/v1/supplier/orders/") for label in calls)


def _stateful_settings():
    return settings(
        max_examples=12,
        stateful_step_count=4,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
