"""Schema-driven testing of the whole JSON API: schemathesis reads /api/v1/openapi.json, generates
valid and invalid requests for every operation, sends them with a supplier's and a retailer's API
key, and checks every answer: no 5xx, a documented status code and content type, and a body that
matches the documented schema. Examples per operation are bounded and derandomized, so the run is
the same on every machine and short enough for `make test`.
"""

from __future__ import annotations

from collections import Counter

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
    retailer = factories.RetailerFactory()
    factories.StoreFactory(retailer=retailer)
    _, supplier_key = create_api_key(organisation=supplier, name="fuzz", created_by=None)
    _, retailer_key = create_api_key(organisation=retailer, name="fuzz", created_by=None)
    return {"supplier": supplier_key, "retailer": retailer_key}


def _check_operation(
    operation, mode, key_name: str, headers: dict, failures: list[str], counts: Counter
) -> None:
    seen: set[str] = set()

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
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # one failure or a group of them
            counts["failed checks"] += 1
            for failure in getattr(exc, "exceptions", [exc]):
                title = getattr(failure, "title", type(failure).__name__)
                if title not in seen:
                    seen.add(title)
                    failures.append(
                        f"{operation.method.upper()} {operation.path} [{key_name}] "
                        f"{response.status_code}: {title}"
                    )

    check()


def run_contract(app) -> tuple[list[str], Counter]:
    """Every failure as `METHOD path [key] status: what`, once per operation, key and check;
    and how many cases ran, answered 5xx and failed a check."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    counts: Counter = Counter()
    for key_name, key in _keys().items():
        headers = {"Authorization": f"Bearer {key}"}
        for result in schema.get_all_operations():
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _check_operation(result.ok(), mode, key_name, headers, failures, counts)
    return failures, counts


@pytest.mark.django_db
def test_every_operation_answers_as_documented_for_supplier_and_retailer_keys(wsgi_app, settings):
    settings.API_RATE_LIMIT_PER_KEY = "100000/m"  # the limiter has its own tests
    failures, counts = run_contract(wsgi_app)

    print(dict(counts), *failures, sep="\n")  # noqa: T201  # the list in the report when it fails

    assert failures == []
