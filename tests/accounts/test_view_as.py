"""Support's read-only "view as" (issue 19, point 8): a support agent or platform admin who
passed their second factor views a retailer's or supplier's workspace for a stated reason and at
most 30 minutes, with a banner on every page; nothing can be written while it lasts."""

import threading
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from dropship.accounts import services
from dropship.accounts.models import ViewAsSession
from dropship.accounts.roles import SUPPORT_AGENT
from dropship.accounts.tasks import end_expired_view_as_task
from dropship.core.errors import Conflict
from dropship.core.models import AuditLogEntry
from retailers.models import Retailer
from tests import factories
from tests.mfa import login_with_second_factor
from tests.url_sweep import build_world, fill_route, routes

REASON = "Ticket 4211: retailer says the sync page shows errors"
BANNER = 'class="view-as-banner"'


@pytest.fixture
def agent(db):
    return factories.staff_in_group(SUPPORT_AGENT, "sam@support.test")


@pytest.fixture
def agent_client(client, agent):
    login_with_second_factor(client, agent)
    return client


def start_url(organisation) -> str:
    opts = organisation._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_view_as", args=[organisation.pk])


def start(client, organisation, *, reason: str = REASON, minutes: int | str = 30):
    return client.post(start_url(organisation), {"reason": reason, "minutes": minutes})


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


# --- Starting -------------------------------------------------------------------------------------


@pytest.mark.embedded
def test_agent_views_a_retailers_workspace_with_the_banner(agent_client, agent, retailer_member):
    retailer = retailer_member.retailer
    change_page = agent_client.get(reverse("admin:retailers_retailer_change", args=[retailer.pk]))
    assert start_url(retailer) in change_page.content.decode()

    response = start(agent_client, retailer)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    view_as = ViewAsSession.objects.get()
    assert (view_as.staff_user, view_as.retailer, view_as.supplier) == (agent, retailer, None)
    assert view_as.reason == REASON
    assert view_as.expires_at - view_as.started_at == timedelta(minutes=30)
    assert view_as.ended_at is None
    dashboard = agent_client.get(reverse("dashboard"), follow=True)
    assert dashboard.redirect_chain == [(reverse("retailers:dashboard"), 302)]
    assert dashboard.status_code == 200
    page = dashboard.content.decode()
    assert BANNER in page
    assert f"Read-only support view of {retailer.business_name}." in page
    assert f"Reason: {REASON}" in page
    assert 'action="/view-as/end/"' in page
    assert "css/view_as.css" in page
    assert "<style" not in page
    assert " style=" not in page


def test_agent_views_a_suppliers_workspace(agent_client, agent, supplier_member):
    supplier = supplier_member.supplier

    response = start(agent_client, supplier, minutes=10)

    assert response.status_code == 302
    view_as = ViewAsSession.objects.get()
    assert (view_as.supplier, view_as.retailer) == (supplier, None)
    assert view_as.expires_at - view_as.started_at == timedelta(minutes=10)
    for name in ("suppliers:dashboard", "catalog:product_list", "suppliers:feed"):
        page = agent_client.get(reverse(name))
        assert page.status_code == 200, name
        assert f"Read-only support view of {supplier.company_name}." in page.content.decode()


def test_platform_admin_can_view_as(admin_client, retailer_member):
    assert start(admin_client, retailer_member.retailer).status_code == 302
    assert ViewAsSession.objects.get().staff_user.is_superuser


def test_start_records_an_audit_entry_with_reason_and_duration(
    agent_client, agent, retailer_member
):
    retailer = retailer_member.retailer

    start(agent_client, retailer, minutes=20)

    view_as = ViewAsSession.objects.get()
    entry = AuditLogEntry.objects.get(action="view_as.started")
    assert (entry.actor, entry.target_type, entry.target_id) == (
        agent,
        "retailers.retailer",
        str(retailer.pk),
    )
    assert entry.data == {
        "view_as_session": view_as.pk,
        "reason": REASON,
        "minutes": 20,
        "expires_at": view_as.expires_at.isoformat(),
    }
    assert entry.summary == f"Read-only view of {retailer} for 20 min: {REASON}"


@pytest.mark.parametrize(
    ("reason", "minutes", "field", "message"),
    [
        ("", 30, "reason", "This field is required."),
        ("   ", 30, "reason", "This field is required."),
        ("just looking", 30, "reason", "Ensure this value has at least 15 characters"),
        (REASON, 31, "minutes", "Ensure this value is less than or equal to 30."),
        (REASON, 0, "minutes", "Ensure this value is greater than or equal to 1."),
        (REASON, "half an hour", "minutes", "Enter a whole number."),
    ],
)
def test_start_refuses_a_missing_reason_or_a_bad_duration(
    agent_client, retailer_member, reason, minutes, field, message
):
    response = start(agent_client, retailer_member.retailer, reason=reason, minutes=minutes)

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not ViewAsSession.objects.exists()
    assert not AuditLogEntry.objects.filter(action__startswith="view_as.").exists()


def test_the_maximum_duration_is_a_setting(agent_client, retailer_member, settings):
    settings.VIEW_AS_MAX_MINUTES = 10

    response = start(agent_client, retailer_member.retailer, minutes=15)

    assert response.status_code == 400
    assert response.context["form"].errors["minutes"] == [
        "Ensure this value is less than or equal to 10."
    ]
    assert not ViewAsSession.objects.exists()


def test_service_refuses_what_the_form_would(agent, retailer_member):
    retailer = retailer_member.retailer
    with pytest.raises(services.ViewAsError, match="at least 15 characters"):
        services.start_view_as(staff_user=agent, organisation=retailer, reason="short", minutes=5)
    with pytest.raises(services.ViewAsError, match="from 1 to 30 minutes"):
        services.start_view_as(staff_user=agent, organisation=retailer, reason=REASON, minutes=45)
    assert not ViewAsSession.objects.exists()


def test_start_requires_the_second_factor(client, agent, retailer_member):
    client.force_login(agent)  # a password only: no second factor in this session

    response = start(client, retailer_member.retailer)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_index"))
    assert not ViewAsSession.objects.exists()


def test_members_and_staff_without_a_role_cannot_view_as(client, retailer_member, supplier_member):
    client.force_login(supplier_member.user)
    response = start(client, retailer_member.retailer)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))

    plain_staff = factories.UserFactory(is_staff=True)
    login_with_second_factor(client, plain_staff)
    change_page = client.get(
        reverse("admin:retailers_retailer_change", args=[retailer_member.retailer.pk])
    )
    assert start_url(retailer_member.retailer) not in change_page.content.decode()
    assert start(client, retailer_member.retailer).status_code == 403
    with pytest.raises(services.PermissionDenied):
        services.start_view_as(
            staff_user=plain_staff, organisation=retailer_member.retailer, reason=REASON, minutes=5
        )
    assert not ViewAsSession.objects.exists()


def test_views_cannot_be_nested(agent_client, agent, retailer_member, supplier_member):
    start(agent_client, retailer_member.retailer)

    # From the browser the second start is a write, refused by the read-only view ...
    response = start(agent_client, supplier_member.supplier)
    assert response.status_code == 403
    # ... and the service refuses it too (another tab, another session).
    with pytest.raises(Conflict, match="already viewing"):
        services.start_view_as(
            staff_user=agent, organisation=supplier_member.supplier, reason=REASON, minutes=5
        )
    assert ViewAsSession.objects.get().retailer == retailer_member.retailer


@pytest.mark.embedded
def test_database_keeps_one_open_view_per_staff_member_with_a_reason(agent, retailer_member):
    now = timezone.now()
    fields = {
        "staff_user": agent,
        "retailer": retailer_member.retailer,
        "started_at": now,
        "expires_at": now + timedelta(minutes=5),
    }
    ViewAsSession.objects.create(reason=REASON, **fields)
    refused = [
        {"reason": REASON},  # a second open view
        {"reason": "short", "ended_at": now, "ended_by": "STAFF"},
        {"reason": REASON, "ended_at": now, "ended_by": ""},
        {"reason": REASON, "ended_at": now, "ended_by": "STAFF", "expires_at": now},
        {
            "reason": REASON,
            "ended_at": now,
            "ended_by": "STAFF",
            "supplier": factories.SupplierFactory(),
        },
    ]
    for extra in refused:
        with pytest.raises(IntegrityError), transaction.atomic():
            ViewAsSession.objects.create(**{**fields, **extra})
    assert ViewAsSession.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_open_one_view():
    agent = factories.staff_in_group(SUPPORT_AGENT, "sam@support.test")
    retailers = [factories.RetailerFactory() for _ in range(4)]
    outcomes: list[str] = []
    lock = threading.Lock()
    start_together = threading.Barrier(4)

    def open_view(retailer) -> None:
        try:
            start_together.wait()
            try:
                services.start_view_as(
                    staff_user=agent, organisation=retailer, reason=REASON, minutes=5
                )
                outcome = "started"
            except Conflict:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_view, args=(r,)) for r in retailers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused", "refused", "refused", "started"]
    assert ViewAsSession.objects.filter(ended_at__isnull=True).count() == 1
    assert AuditLogEntry.objects.filter(action="view_as.started").count() == 1


# --- Ending -----------------------------------------------------------------------------------------


@pytest.mark.embedded
def test_end_view_button_ends_it_and_records_it(agent_client, agent, retailer_member):
    retailer = retailer_member.retailer
    start(agent_client, retailer)

    response = agent_client.post(reverse("view_as_end"))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:retailers_retailer_change", args=[retailer.pk])
    view_as = ViewAsSession.objects.get()
    assert view_as.ended_by == ViewAsSession.EndedBy.STAFF
    assert view_as.ended_at is not None
    entry = AuditLogEntry.objects.get(action="view_as.ended")
    assert (entry.actor, entry.target_id) == (agent, str(retailer.pk))
    assert entry.data == {"view_as_session": view_as.pk, "ended_by": "STAFF"}
    after = agent_client.get(reverse("retailers:dashboard"))
    assert after.status_code == 403  # the staff member is no retailer
    assert BANNER not in after.content.decode()


def test_view_expires_by_itself(agent_client, agent, retailer_member):
    start(agent_client, retailer_member.retailer)
    expired_at = timezone.now() - timedelta(seconds=1)
    ViewAsSession.objects.update(
        started_at=expired_at - timedelta(minutes=30), expires_at=expired_at
    )

    page = agent_client.get(reverse("retailers:dashboard"))

    assert page.status_code == 403
    text = page.content.decode()
    assert BANNER not in text
    assert f"Your read-only view of {retailer_member.retailer} ended (expired)." in text
    view_as = ViewAsSession.objects.get()
    assert (view_as.ended_at, view_as.ended_by) == (expired_at, ViewAsSession.EndedBy.EXPIRED)
    assert AuditLogEntry.objects.get(action="view_as.ended").data["ended_by"] == "EXPIRED"
    # A new view can start once the old one expired.
    assert start(agent_client, retailer_member.retailer).status_code == 302
    assert ViewAsSession.objects.filter(ended_at__isnull=True).count() == 1


def test_an_expired_view_left_open_is_closed_when_the_next_starts(agent, retailer_member):
    retailer = retailer_member.retailer
    first = services.start_view_as(
        staff_user=agent, organisation=retailer, reason=REASON, minutes=5
    )
    ViewAsSession.objects.filter(pk=first.pk).update(
        started_at=first.started_at - timedelta(minutes=10),
        expires_at=first.expires_at - timedelta(minutes=10),
    )

    second = services.start_view_as(
        staff_user=agent, organisation=retailer, reason=REASON, minutes=5
    )

    first.refresh_from_db()
    assert first.ended_by == ViewAsSession.EndedBy.EXPIRED
    assert second.ended_at is None


def test_beat_ends_views_that_expired_unattended_once(agent, retailer_member, settings):
    view_as = services.start_view_as(
        staff_user=agent, organisation=retailer_member.retailer, reason=REASON, minutes=5
    )
    other = factories.staff_in_group(SUPPORT_AGENT, "kim@support.test")
    still_open = services.start_view_as(
        staff_user=other, organisation=retailer_member.retailer, reason=REASON, minutes=5
    )
    ViewAsSession.objects.filter(pk=view_as.pk).update(
        started_at=view_as.started_at - timedelta(minutes=6),
        expires_at=view_as.expires_at - timedelta(minutes=6),
    )
    assert "dropship.accounts.tasks.end_expired_view_as_task" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }

    assert end_expired_view_as_task.delay().get() == 1
    assert end_expired_view_as_task.delay().get() == 0

    view_as.refresh_from_db()
    still_open.refresh_from_db()
    assert view_as.ended_by == ViewAsSession.EndedBy.EXPIRED
    assert view_as.ended_at == view_as.expires_at
    assert still_open.ended_at is None
    assert AuditLogEntry.objects.filter(action="view_as.ended").count() == 1


def test_logout_ends_the_view(agent_client, retailer_member):
    start(agent_client, retailer_member.retailer)

    response = agent_client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert ViewAsSession.objects.get().ended_by == ViewAsSession.EndedBy.LOGOUT
    assert AuditLogEntry.objects.get(action="view_as.ended").data["ended_by"] == "LOGOUT"


def test_losing_the_support_role_ends_the_view(agent_client, agent, retailer_member):
    start(agent_client, retailer_member.retailer)
    agent.groups.clear()

    page = agent_client.get(reverse("retailers:dashboard"))

    assert page.status_code == 403
    assert ViewAsSession.objects.get().ended_by == ViewAsSession.EndedBy.ACCESS


def test_ending_twice_records_once(agent, retailer_member):
    view_as = services.start_view_as(
        staff_user=agent, organisation=retailer_member.retailer, reason=REASON, minutes=5
    )

    assert services.end_view_as(view_as=view_as, ended_by=ViewAsSession.EndedBy.STAFF) is True
    assert services.end_view_as(view_as=view_as, ended_by=ViewAsSession.EndedBy.LOGOUT) is False
    assert AuditLogEntry.objects.filter(action="view_as.ended").count() == 1


# --- Read-only --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["retailer", "supplier"])
def test_no_url_accepts_a_write_while_viewing_as(client, agent, kind):
    """Every URL pattern (workspace pages, API, admin, webhooks) with POST, and the API's
    paths with PUT, PATCH and DELETE: 403 before any view runs, and no table changes."""
    world = build_world()
    organisation = world.users[kind].membership.organisation
    login_with_second_factor(client, agent)
    start(client, organisation)
    allowed = {reverse("view_as_end"), reverse("account_logout")}
    before = row_counts()
    failures, sent = [], 0

    for route in routes():
        path = fill_route(route, world.values)
        if path in allowed:
            continue
        methods = ["post", "put", "patch", "delete"] if path.startswith("/api/") else ["post"]
        for method in methods:
            response = getattr(client, method)(
                path, data={"name": "x", "reason": REASON}, content_type="application/json"
            )
            sent += 1
            body = response.content.decode()
            if response.status_code != 403 or "read-only" not in body:
                failures.append(f"{method.upper()} {path}: {response.status_code}")

    assert sent > 500
    assert not failures, "\n".join(failures)
    assert row_counts() == before
    assert ViewAsSession.objects.get().ended_at is None  # still viewing


def test_api_write_answers_a_problem_naming_the_mode(agent_client, retailer_member):
    start(agent_client, retailer_member.retailer)

    response = agent_client.post(
        "/api/v1/products/import", data={"product_ids": [1]}, content_type="application/json"
    )

    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "view_as_read_only"
    assert problem["detail"] == (
        f"You are viewing {retailer_member.retailer} read-only as support: nothing can be "
        "changed in this mode. End the view to work as yourself."
    )


def test_admin_write_actions_are_refused_while_viewing_as(agent_client, retailer_member):
    retailer = retailer_member.retailer
    start(agent_client, retailer)
    order = factories.OrderFactory(store__retailer=retailer)

    response = agent_client.post(
        reverse("admin:orders_order_change", args=[order.pk]), {"status": "CANCELLED"}
    )

    assert response.status_code == 403
    assert "Nothing can be changed in a support view" in response.content.decode()
    order.refresh_from_db()
    assert order.status != "CANCELLED"


def test_a_get_that_would_connect_a_store_is_refused(agent_client, retailer_member):
    start(agent_client, retailer_member.retailer)
    stores = Retailer.objects.get(pk=retailer_member.retailer.pk).stores.count()

    response = agent_client.get(
        reverse("retailers:shopify_callback"), {"shop": "x.myshopify.com", "code": "abc"}
    )

    assert response.status_code == 403
    assert retailer_member.retailer.stores.count() == stores


@pytest.mark.parametrize("kind", ["retailer", "supplier"])
def test_every_page_shows_the_banner_and_reading_changes_nothing(client, agent, kind):
    """GET on every URL pattern while viewing as: every page drawn with a layout (workspace,
    public and admin, refusals included) carries the banner, no answer is a 5xx, and no table
    changes (reads write nothing) but the audit trail's record of staff reading shopper data."""
    world = build_world()
    organisation = world.users[kind].membership.organisation
    login_with_second_factor(client, agent)
    start(client, organisation)
    before = row_counts()
    entries_before = list(AuditLogEntry.objects.values_list("pk", flat=True))
    missing, errors, pages = [], [], 0

    for route in routes():
        path = fill_route(route, world.values)
        response = client.get(path)
        if response.status_code >= 500:
            errors.append(f"GET {path}: {response.status_code}")
        body = response.content.decode(errors="replace") if not response.streaming else ""
        # Every page drawn with a layout (the site's base.html, the admin's base_site.html);
        # bare error pages (Django's own 403/404 answers) have none.
        if 'class="site-header"' in body or 'id="header"' in body:
            pages += 1
            if BANNER not in body:
                missing.append(f"GET {path}: {response.status_code}")

    assert not errors, "\n".join(errors)
    assert not missing, "\n".join(missing)
    assert pages > 150
    after = row_counts()
    assert after.pop("core.AuditLogEntry") >= before.pop("core.AuditLogEntry")
    assert after == before
    reads = AuditLogEntry.objects.exclude(pk__in=entries_before)
    assert set(reads.values_list("action", flat=True)) <= {"personal_data.viewed"}
    assert ViewAsSession.objects.get().ended_at is None


def test_dashboard_api_calls_answer_as_the_viewed_organisation(agent_client, supplier_member):
    supplier = supplier_member.supplier
    start(agent_client, supplier)

    response = agent_client.get("/api/v1/me")

    assert response.status_code == 200
    body = response.json()
    assert (body["kind"], body["organisation_id"], body["name"]) == (
        "supplier",
        supplier.pk,
        supplier.company_name,
    )
    assert body["key_prefix"] is None  # a session call: no key, no scopes
    assert body["scopes"] is None


def test_admin_lists_view_as_sessions_read_only(admin_client, agent, retailer_member):
    services.start_view_as(
        staff_user=agent, organisation=retailer_member.retailer, reason=REASON, minutes=5
    )

    page = admin_client.get(reverse("admin:accounts_viewassession_changelist") + "?state=open")

    assert page.status_code == 200
    text = page.content.decode()
    assert REASON in text
    assert "sam@support.test" in text
    assert admin_client.get(reverse("admin:accounts_viewassession_add")).status_code == 403


def test_a_member_request_never_resolves_to_a_view(client, retailer_member, agent):
    """The session key is the staff member's own: a member's session with a forged id is ignored."""
    view_as = services.start_view_as(
        staff_user=agent, organisation=factories.RetailerFactory(), reason=REASON, minutes=5
    )
    client.force_login(retailer_member.user)
    session = client.session
    session["dropship_view_as_id"] = view_as.pk
    session.save()

    page = client.get(reverse("retailers:dashboard"))

    assert page.status_code == 200
    assert BANNER not in page.content.decode()
    assert page.context["membership"].pk == retailer_member.pk
