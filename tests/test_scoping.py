"""Ownership scoping: another organisation's object answers 404 (never 403, never the object).

CROSS_ORGANISATION_CASES lists every page or API call that takes an object id today. When a
later issue adds a detail or action view, add a case here: the test signs in an owner of one
organisation, builds an object belonging to another organisation of the same kind, requests it,
and expects 404 with nothing changed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from dropship.accounts import selectors, services
from dropship.accounts.models import ApiKey, Invitation, Membership, Role, hash_token
from retailers.selectors import get_store_for_retailer
from suppliers.models import Supplier
from tests import factories


@dataclass(frozen=True)
class CrossOrganisationCase:
    """`arrange(other_member)` builds the other organisation's object and returns the URL to
    request and a check that the object is unchanged afterwards."""

    name: str
    kind: str  # "supplier" or "retailer": the kind of both organisations
    method: str
    arrange: Callable[[Membership], tuple[str, Callable[[], None]]]


def _api_key_revoke(other: Membership) -> tuple[str, Callable[[], None]]:
    api_key, _ = services.create_api_key(
        organisation=other.organisation, name="Their ERP", created_by=other.user
    )

    def unchanged() -> None:
        api_key.refresh_from_db()
        assert api_key.revoked_at is None

    return reverse("accounts:revoke_api_key", args=[api_key.pk]), unchanged


CROSS_ORGANISATION_CASES = [
    CrossOrganisationCase(
        "supplier revokes another supplier's API key", "supplier", "post", _api_key_revoke
    ),
    CrossOrganisationCase(
        "retailer revokes another retailer's API key", "retailer", "post", _api_key_revoke
    ),
]


# --- retailers: pricing rules, import list and jobs, listings (issue 5) -------------------------
def _other_rule(other: Membership) -> tuple[str, Callable[[], None]]:
    from retailers.models import PricingRule

    rule = PricingRule.objects.create(
        retailer=other.retailer, name="Theirs", method="FIXED", value=3
    )

    def unchanged() -> None:
        assert PricingRule.objects.filter(pk=rule.pk, name="Theirs").exists()

    return reverse("retailers:pricing_rule_edit", args=[rule.pk]), unchanged


def _other_rule_delete(other: Membership) -> tuple[str, Callable[[], None]]:
    url, unchanged = _other_rule(other)
    return url + "delete/", unchanged


def _other_import_item(other: Membership) -> tuple[str, Callable[[], None]]:
    from retailers.models import ImportListItem

    item = ImportListItem.objects.create(
        retailer=other.retailer, product=factories.ProductFactory()
    )

    def unchanged() -> None:
        item.refresh_from_db()
        assert item.title == ""

    return reverse("retailers:import_list_item", args=[item.pk]), unchanged


def _other_job(name: str) -> Callable[[Membership], tuple[str, Callable[[], None]]]:
    def arrange(other: Membership) -> tuple[str, Callable[[], None]]:
        from retailers.models import StoreImportJob

        store = factories.StoreFactory(retailer=other.retailer)
        job = StoreImportJob.objects.create(retailer=other.retailer, store=store, status="FAILED")

        def unchanged() -> None:
            job.refresh_from_db()
            assert job.status == "FAILED"

        return reverse(f"retailers:{name}", args=[job.pk]), unchanged

    return arrange


def _other_listing(name: str) -> Callable[[Membership], tuple[str, Callable[[], None]]]:
    def arrange(other: Membership) -> tuple[str, Callable[[], None]]:
        from retailers.models import Listing

        store = factories.StoreFactory(retailer=other.retailer)
        lv = factories.ListingVariantFactory(listing=factories.ListingFactory(store=store))
        target = lv.pk if name == "listing_price" else lv.listing_id

        def unchanged() -> None:
            listing = Listing.objects.get(pk=lv.listing_id)
            assert (listing.status, listing.sync_status) == ("ACTIVE", "SYNCED")

        return reverse(f"retailers:{name}", args=[target]), unchanged

    return arrange


CROSS_ORGANISATION_CASES += [
    CrossOrganisationCase("retailer opens another's pricing rule", "retailer", "get", _other_rule),
    CrossOrganisationCase(
        "retailer deletes another's pricing rule", "retailer", "post", _other_rule_delete
    ),
    CrossOrganisationCase(
        "retailer edits another's import list item", "retailer", "post", _other_import_item
    ),
    CrossOrganisationCase(
        "retailer opens another's import job", "retailer", "get", _other_job("import_job")
    ),
    CrossOrganisationCase(
        "retailer polls another's import job", "retailer", "get", _other_job("import_job_progress")
    ),
    CrossOrganisationCase(
        "retailer retries another's import job", "retailer", "post", _other_job("import_job_retry")
    ),
    *(
        CrossOrganisationCase(
            f"retailer {name} on another's listing", "retailer", "post", _other_listing(name)
        )
        for name in (
            "listing_price",
            "listing_resync",
            "listing_unlist",
            "listing_remove",
            "approval_accept",
        )
    ),
]


# --- suppliers: the product and order API (issue 18) ---------------------------------------------
def _other_product(action: str) -> Callable[[Membership], tuple[str, Callable[[], None]]]:
    def arrange(other: Membership) -> tuple[str, Callable[[], None]]:
        product = factories.ProductFactory(supplier=other.supplier, status="ACTIVE")

        def unchanged() -> None:
            product.refresh_from_db()
            assert product.status == "ACTIVE"

        return f"/api/v1/supplier/products/{product.pk}{action}", unchanged

    return arrange


def _other_packing_slip(other: Membership) -> tuple[str, Callable[[], None]]:
    supplier_order = factories.make_supplier_order(supplier=other.supplier)
    return f"/api/v1/supplier/orders/{supplier_order.pk}/packing-slip", lambda: None


CROSS_ORGANISATION_CASES += [
    CrossOrganisationCase(
        "supplier API reads another's product", "supplier", "get", _other_product("")
    ),
    CrossOrganisationCase(
        "supplier API archives another's product", "supplier", "post", _other_product("/archive")
    ),
    CrossOrganisationCase(
        "supplier API prints another's packing slip", "supplier", "get", _other_packing_slip
    ),
]


def _other_store_out_of_stock(other: Membership) -> tuple[str, Callable[[], None]]:
    store = factories.StoreFactory(retailer=other.retailer)

    def unchanged() -> None:
        store.refresh_from_db()
        assert store.unpublish_when_out_of_stock is None

    return reverse("retailers:store_out_of_stock", args=[store.pk]), unchanged


CROSS_ORGANISATION_CASES += [
    CrossOrganisationCase(
        "retailer sets another retailer's store out-of-stock behaviour",
        "retailer",
        "post",
        _other_store_out_of_stock,
    ),
]


# --- notification centre (issue 17, point 3) -----------------------------------------------------
def _other_notification(other: Membership) -> tuple[str, Callable[[], None]]:
    notification = services.notify(organisation=other.organisation, kind="test", message="Theirs")

    def unchanged() -> None:
        notification.refresh_from_db()
        assert notification.read_at is None

    return reverse("accounts:notification_read", args=[notification.pk]), unchanged


CROSS_ORGANISATION_CASES += [
    CrossOrganisationCase(
        "supplier marks another supplier's notification read",
        "supplier",
        "post",
        _other_notification,
    ),
    CrossOrganisationCase(
        "retailer marks another retailer's notification read",
        "retailer",
        "post",
        _other_notification,
    ),
]


def _owner(kind: str) -> Membership:
    factory = (
        factories.SupplierMemberFactory if kind == "supplier" else factories.RetailerMemberFactory
    )
    return factory(role=Role.OWNER)


@pytest.mark.parametrize("case", CROSS_ORGANISATION_CASES, ids=lambda case: case.name)
def test_another_organisations_object_answers_404(client, db, case):
    me, other = _owner(case.kind), _owner(case.kind)
    url, assert_unchanged = case.arrange(other)
    client.force_login(me.user)

    response = getattr(client, case.method)(url)

    assert response.status_code == 404
    assert_unchanged()


def test_own_api_key_is_revoked(supplier_client, supplier_member):
    api_key, _ = services.create_api_key(
        organisation=supplier_member.supplier, name="ERP", created_by=supplier_member.user
    )

    response = supplier_client.post(reverse("accounts:revoke_api_key", args=[api_key.pk]))

    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_team_page_lists_only_the_callers_members_and_invitations(supplier_client, supplier_member):
    colleague = factories.SupplierMemberFactory(
        supplier=supplier_member.supplier, role=Role.STAFF, user__email="colleague@mine.test"
    )
    stranger = factories.SupplierMemberFactory(user__email="stranger@theirs.test")
    services.invite_member(inviter=stranger.user, email="their-invitee@theirs.test")
    services.invite_member(inviter=supplier_member.user, email="my-invitee@mine.test")

    response = supplier_client.get(reverse("accounts:team"))

    assert response.status_code == 200
    assert {m.user.email for m in response.context["members"]} == {
        supplier_member.user.email,
        colleague.user.email,
    }
    assert [i.email for i in response.context["invitations"]] == ["my-invitee@mine.test"]
    html = response.content.decode()
    assert "stranger@theirs.test" not in html
    assert "their-invitee@theirs.test" not in html


def test_api_keys_page_lists_only_the_callers_keys(retailer_client, retailer_member):
    other = factories.RetailerMemberFactory()
    services.create_api_key(organisation=other.retailer, name="Their shop", created_by=other.user)
    mine, _ = services.create_api_key(
        organisation=retailer_member.retailer, name="My shop", created_by=retailer_member.user
    )

    response = retailer_client.get(reverse("accounts:api_keys"))

    assert list(response.context["keys"]) == [mine]
    assert "Their shop" not in response.content.decode()


def test_invitation_for_another_address_is_refused_and_joins_nothing(client, db):
    owner = factories.SupplierMemberFactory()
    _, token = services.invite_member(inviter=owner.user, email="invitee@example.com")
    intruder = factories.UserFactory(email="intruder@example.com")
    client.force_login(intruder)

    response = client.post(reverse("accounts:accept_invitation", args=[token]), follow=True)

    assert response.status_code == 200
    assert "This invitation was sent to invitee@example.com; sign in with that address." in (
        response.content.decode()
    )
    assert not Membership.objects.filter(user=intruder).exists()
    assert Invitation.objects.get(email="invitee@example.com").accepted_at is None


def test_unknown_or_used_invitation_token_answers_404(client, db):
    owner = factories.RetailerMemberFactory()
    Invitation.objects.create(
        retailer=owner.retailer,
        email="used@example.com",
        token_hash=hash_token("used-token"),
        expires_at=timezone.now() + timedelta(days=1),
        accepted_at=timezone.now(),
    )

    for token in ("no-such-token", "used-token"):
        response = client.get(reverse("accounts:accept_invitation", args=[token]))
        assert response.status_code == 404
        assert "not valid or has already been used" in response.content.decode()


def test_api_me_answers_for_the_keys_own_organisation_only(client, db):
    mine = factories.SupplierMemberFactory()
    theirs = factories.RetailerMemberFactory()
    _, their_secret = services.create_api_key(
        organisation=theirs.retailer, name="Shop", created_by=theirs.user
    )
    revoked, revoked_secret = services.create_api_key(
        organisation=mine.supplier, name="Old", created_by=mine.user
    )
    services.revoke_api_key(api_key=revoked)

    as_them = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {their_secret}")
    assert as_them.status_code == 200
    body = as_them.json()
    assert (body["kind"], body["organisation_id"], body["name"]) == (
        "retailer",
        theirs.retailer.pk,
        theirs.retailer.business_name,
    )

    with_revoked = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {revoked_secret}")
    assert with_revoked.status_code == 401
    wrong_last = "y" if their_secret.endswith("x") else "x"  # always differs from the real key
    guessed = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {their_secret[:-1]}{wrong_last}")
    assert guessed.status_code == 401


def test_api_me_with_a_session_answers_for_the_callers_organisation(supplier_client):
    response = supplier_client.get("/api/v1/me")

    assert response.json()["organisation_id"] == supplier_client.supplier.pk


@pytest.mark.parametrize("status", ["PENDING", "REJECTED", "SUSPENDED"])
def test_public_profile_of_a_supplier_that_is_not_active_answers_404(client, db, status):
    supplier = factories.SupplierFactory(status=status)

    response = client.get(reverse("suppliers:profile", args=[supplier.slug]))

    assert response.status_code == 404


def test_public_directory_lists_active_suppliers_only(client, db):
    factories.SupplierFactory(company_name="Open For Business", status=Supplier.Status.ACTIVE)
    factories.SupplierFactory(company_name="Waiting Room", status=Supplier.Status.PENDING)

    response = client.get(reverse("suppliers:directory"))

    assert [s.company_name for s in response.context["suppliers"]] == ["Open For Business"]


def test_selectors_refuse_another_organisations_rows(db):
    me, other = factories.RetailerMemberFactory(), factories.RetailerMemberFactory()
    their_key, _ = services.create_api_key(
        organisation=other.retailer, name="Theirs", created_by=other.user
    )
    their_store = factories.StoreFactory(retailer=other.retailer)

    with pytest.raises(ApiKey.DoesNotExist):
        selectors.get_api_key_for_organisation(organisation=me.retailer, api_key_id=their_key.pk)
    with pytest.raises(Http404):
        get_store_for_retailer(retailer=me.retailer, store_id=their_store.pk)
    assert get_store_for_retailer(retailer=other.retailer, store_id=their_store.pk) == their_store
