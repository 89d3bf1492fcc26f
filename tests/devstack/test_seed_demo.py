"""`seed_demo` builds the demo marketplace once; running it again changes nothing."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from catalog.models import Product, Variant
from devstack import demo_data
from dropship.accounts.models import User
from suppliers.models import Supplier


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_twice_changes_nothing_the_second_time(db, settings):
    settings.DEBUG = True

    first = seed()
    after_first = row_counts()
    second = seed()

    assert "new rows" in first
    assert "(0 new rows)" not in first
    assert "Demo data ready (0 new rows)." in second
    assert row_counts() == after_first
    assert after_first["suppliers.Supplier"] == 4
    assert set(Supplier.objects.values_list("status", flat=True)) == {"ACTIVE", "PENDING"}
    assert Supplier.objects.filter(status="PENDING").count() == 1
    assert Product.objects.count() == 60
    assert Variant.objects.count() > Product.objects.count()
    assert after_first["retailers.Retailer"] == 1
    assert User.objects.get(email=demo_data.ADMIN["email"]).is_superuser
    assert demo_data.DEMO_PASSWORD in first


def test_seed_demo_refuses_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False
    before = row_counts()

    with pytest.raises(CommandError, match="Refusing to seed demo data with DEBUG off"):
        call_command("seed_demo", stdout=StringIO())
    assert row_counts() == before

    out = StringIO()
    call_command("seed_demo", "--force", "--quiet-logins", stdout=out)
    assert Supplier.objects.count() == 4
    assert demo_data.DEMO_PASSWORD not in out.getvalue()


def test_demo_admin_opens_the_admin_with_the_password_and_the_printed_code(db, settings, client):
    settings.DEBUG = True
    assert demo_data.DEMO_TOTP_SECRET in seed()
    login = client.post(
        reverse("account_login"),
        {"login": demo_data.ADMIN["email"], "password": demo_data.DEMO_PASSWORD},
    )
    assert login.url == reverse("mfa_authenticate")  # the password alone is not enough

    out = StringIO()
    call_command("demo_code", stdout=out)
    code = out.getvalue().split()[0]
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    assert client.get("/admin/").status_code == 200
