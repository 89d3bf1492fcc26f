"""Case pages and API: a retailer opens a case from its order, both parties add statements and
download attachments, another organisation gets 404 everywhere, support works the queue in the
admin (oldest first, SLA clock, assign, decide), chargebacks appear in the same list."""

from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Refund
from dropship.accounts.roles import SUPPORT_AGENT
from dropship.accounts.services import create_api_key
from orders.models import Dispute
from orders.services import cases
from tests import factories
from tests.billing.helpers import paid_supplier_order, ship
from tests.mfa import login_with_second_factor

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def shipped(stripe_sandbox):
    return ship(paid_supplier_order(stripe_sandbox))


def _member_client(organisation) -> Client:
    if hasattr(organisation, "order_channel"):
        member = factories.SupplierMemberFactory(supplier=organisation)
    else:
        member = factories.RetailerMemberFactory(retailer=organisation)
    client = Client()
    client.force_login(member.user)
    return client


def _auth(organisation) -> dict[str, str]:
    _, secret = create_api_key(organisation=organisation, name="cases", created_by=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.mark.embedded
def test_retailer_opens_a_case_both_parties_add_statements_and_read_attachments(shipped):
    retailer_client = _member_client(shipped.order.retailer)
    supplier_client = _member_client(shipped.supplier)
    order_page = retailer_client.get(reverse("orders:retailer_detail", args=[shipped.order_id]))
    open_url = reverse("cases:retailer_open", args=[shipped.pk])
    assert open_url in order_page.content.decode()

    response = retailer_client.post(
        open_url,
        {
            "reason": "not_as_described",
            "statement": "Blue <b>mugs</b>, listing says white.",
            "attachments": [SimpleUploadedFile("mugs.png", PNG, content_type="image/png")],
        },
    )

    case = Dispute.objects.get(kind="MEDIATION")
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:retailer_detail", args=[case.pk])
    page = supplier_client.get(reverse("cases:supplier_detail", args=[case.pk])).content.decode()
    assert "Blue &lt;b&gt;mugs&lt;/b&gt;, listing says white." in page
    attachment = case.statements.get().attachments.get()
    download = supplier_client.get(
        reverse("cases:supplier_attachment", args=[case.pk, attachment.pk])
    )
    assert download.status_code == 200
    assert download.content == PNG
    assert download["Content-Disposition"] == 'attachment; filename="mugs.png"'

    answer = supplier_client.post(
        reverse("cases:supplier_statement", args=[case.pk]), {"body": "They were white."}
    )
    assert answer.status_code == 302
    assert list(case.statements.values_list("party", flat=True)) == ["RETAILER", "SUPPLIER"]
    listing = retailer_client.get(reverse("cases:retailer_list")).content.decode()
    assert f"#{case.pk}" in listing


def test_a_second_case_and_a_bad_attachment_are_refused_on_the_page(shipped):
    retailer_client = _member_client(shipped.order.retailer)
    open_url = reverse("cases:retailer_open", args=[shipped.pk])
    bad = SimpleUploadedFile("mugs.png", b"MZ\x90\x00 not an image", content_type="image/png")

    refused = retailer_client.post(
        open_url, {"reason": "other", "statement": "See photo", "attachments": [bad]}
    )
    assert refused.status_code == 400
    assert "not a PDF, PNG or JPEG" in refused.content.decode()
    assert not Dispute.objects.exists()

    retailer_client.post(open_url, {"reason": "other", "statement": "First"})
    second = retailer_client.post(open_url, {"reason": "other", "statement": "Second"})
    assert second.status_code == 400
    assert "is still open" in second.content.decode()
    assert Dispute.objects.count() == 1


def test_another_organisation_gets_404_on_every_case_page_and_call(shipped):
    case = cases.open_case(
        supplier_order=shipped,
        party="RETAILER",
        reason="never_arrived",
        statement="Nothing came.",
        attachments=[SimpleUploadedFile("proof.png", PNG, content_type="image/png")],
    )
    attachment = case.statements.get().attachments.get()
    stranger = _member_client(factories.RetailerFactory())
    other_supplier = _member_client(factories.SupplierFactory())

    for url in (
        reverse("cases:retailer_detail", args=[case.pk]),
        reverse("cases:retailer_attachment", args=[case.pk, attachment.pk]),
        reverse("cases:retailer_open", args=[shipped.pk]),
    ):
        assert stranger.get(url).status_code == 404, url
    assert (
        stranger.post(
            reverse("cases:retailer_statement", args=[case.pk]), {"body": "me too"}
        ).status_code
        == 404
    )
    assert other_supplier.get(reverse("cases:supplier_detail", args=[case.pk])).status_code == 404
    assert (
        other_supplier.get(
            reverse("cases:supplier_attachment", args=[case.pk, attachment.pk])
        ).status_code
        == 404
    )

    api_stranger = _auth(factories.RetailerFactory())
    assert Client().get(f"/api/v1/cases/{case.pk}", **api_stranger).status_code == 404
    assert (
        Client()
        .post(
            f"/api/v1/cases/{case.pk}/statements",
            {"body": "hi"},
            content_type="application/json",
            **api_stranger,
        )
        .status_code
        == 404
    )
    opened = Client().post(
        "/api/v1/cases",
        {"supplier_order_id": shipped.pk, "reason": "other", "statement": "x"},
        content_type="application/json",
        **api_stranger,
    )
    assert opened.status_code == 404
    assert Dispute.objects.count() == 1
    assert case.statements.count() == 1


@pytest.mark.embedded
def test_api_open_read_and_add_statements_for_both_keys_with_chargebacks_listed(shipped):
    chargeback = Dispute.objects.create(
        supplier_order=shipped,
        stripe_dispute_id="dp_123",
        reason="fraudulent",
        amount=D("27.00"),
        currency="USD",
    )
    retailer_auth = _auth(shipped.order.retailer)
    supplier_auth = _auth(shipped.supplier)
    api = Client()

    created = api.post(
        "/api/v1/cases",
        {"supplier_order_id": shipped.pk, "reason": "not_as_described", "statement": "Blue."},
        content_type="application/json",
        **retailer_auth,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["kind"], body["status"], body["opened_by"]) == ("MEDIATION", "OPEN", "RETAILER")
    assert [s["party"] for s in body["statements"]] == ["RETAILER"]

    again = api.post(
        "/api/v1/cases",
        {"supplier_order_id": shipped.pk, "reason": "other", "statement": "Again."},
        content_type="application/json",
        **supplier_auth,
    )
    assert again.status_code == 409
    assert "still open" in again.json()["detail"]

    listed = api.get("/api/v1/cases", **supplier_auth).json()["items"]
    assert {(item["id"], item["kind"]) for item in listed} == {
        (body["id"], "MEDIATION"),
        (chargeback.pk, "CHARGEBACK"),
    }
    statement = api.post(
        f"/api/v1/cases/{body['id']}/statements",
        {"body": "They were white."},
        content_type="application/json",
        **supplier_auth,
    )
    assert statement.status_code == 201
    assert statement.json()["party"] == "SUPPLIER"
    detail = api.get(f"/api/v1/cases/{body['id']}", **retailer_auth).json()
    assert [s["body"] for s in detail["statements"]] == ["Blue.", "They were white."]

    cases.decide_case(
        case=Dispute.objects.get(pk=body["id"]), outcome="RELEASE", resolution="White it was."
    )
    closed = api.post(
        f"/api/v1/cases/{body['id']}/statements",
        {"body": "But"},
        content_type="application/json",
        **retailer_auth,
    )
    assert closed.status_code == 409


@pytest.fixture
def support_client(db):
    agent = factories.staff_in_group(SUPPORT_AGENT, "ada@support.test")
    client = Client()
    login_with_second_factor(client, agent)
    client.user = agent
    return client


@pytest.mark.embedded
def test_support_works_the_queue_oldest_first_assigns_and_decides(shipped, support_client):
    newer = ship(paid_supplier_order_for_same(shipped))
    first = cases.open_case(
        supplier_order=shipped, party="RETAILER", reason="never_arrived", statement="Nothing."
    )
    second = cases.open_case(
        supplier_order=newer, party="SUPPLIER", reason="other", statement="Refuses delivery."
    )
    Dispute.objects.filter(pk=first.pk).update(
        created_at=first.created_at.replace(year=first.created_at.year - 1)
    )

    queue = support_client.get(reverse("admin:orders_dispute_changelist")).content.decode()
    assert queue.index(f"#{first.pk} case desk") < queue.index(f"#{second.pk} case desk")
    assert "overdue by" in queue
    assert "due in" in queue

    desk = reverse("admin:orders_dispute_case", args=[first.pk])
    assert support_client.get(desk).status_code == 200
    assigned = support_client.post(desk, {"action": "assign", "agent": support_client.user.pk})
    assert assigned.status_code == 302
    too_much = support_client.post(
        desk,
        {"action": "decide", "outcome": "REFUND_PARTIAL", "amount": "99.00", "resolution": "x"},
    )
    assert too_much.status_code == 400
    assert "left to refund" in too_much.content.decode()
    decided = support_client.post(
        desk, {"action": "decide", "outcome": "REFUND_FULL", "resolution": "Lost in transit."}
    )
    assert decided.status_code == 302

    first.refresh_from_db()
    assert (first.status, first.outcome, first.assigned_to) == (
        "CLOSED",
        "REFUND_FULL",
        support_client.user,
    )
    assert first.decided_by == support_client.user
    assert Refund.objects.get().amount == D("27.00")


def paid_supplier_order_for_same(supplier_order):
    from orders.services.payment import pay_supplier_order
    from tests.billing.helpers import supplier_order_for

    another = supplier_order_for(supplier_order.order.retailer, supplier=supplier_order.supplier)
    result = pay_supplier_order(supplier_order=another)
    assert result.is_paid, result.message
    return result.supplier_order


def test_the_case_lists_read_a_fixed_number_of_queries(stripe_sandbox):
    first = ship(paid_supplier_order(stripe_sandbox))
    retailer, supplier = first.order.retailer, first.supplier
    clients = {
        "cases:retailer_list": _member_client(retailer),
        "cases:supplier_list": _member_client(supplier),
    }

    def counts() -> dict[str, int]:
        found = {}
        for name, client in clients.items():
            with CaptureQueriesContext(connection) as queries:
                assert client.get(reverse(name)).status_code == 200
            found[name] = len(queries)
        return found

    cases.open_case(supplier_order=first, party="RETAILER", reason="other", statement="One.")
    with_one = counts()
    for _ in range(4):
        more = ship(paid_supplier_order_for_same(first))
        cases.open_case(supplier_order=more, party="SUPPLIER", reason="other", statement="More.")
    assert counts() == with_one
