import re

import pytest
from playwright.sync_api import expect

from catalog import tasks
from catalog.models import ImportJob, Variant
from catalog.services import run_import
from tests import factories
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

CATALOG = (
    "Handle;Title;SKU;Option1 Name;Option1 Value;Wholesale price;Stock\n"
    "mug;Stoneware mug;MUG-S;Size;S;4,50;12\n"
    "mug;;MUG-L;;L;4,90;8\n"
    "tote;Canvas tote;TOTE-1;;;6,40;-3\n"
    "cap;Cotton cap;CAP-1;;;5,00;20\n"
).encode("cp1252")


def _log_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/supplier/")


def _upload_and_check(page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
    page.get_by_label("CSV or Excel file").set_input_files(
        {"name": "catalog.csv", "mimeType": "text/csv", "buffer": CATALOG}
    )
    page.get_by_role("button", name="Upload and match columns").click()
    expect(page.get_by_role("heading", name="1. Match your columns to our fields")).to_be_visible()
    expect(page.get_by_label("Stock", exact=True)).to_have_value("stock")
    page.get_by_role("button", name="Check all rows").click()
    expect(page.get_by_role("heading", name="2. Rows checked")).to_be_visible()
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("4")
    expect(errors.first).to_contain_text("Must not be negative (got -3).")


def test_an_import_walks_from_upload_through_its_progress_bar_to_the_summary(page):
    member = factories.SupplierMemberFactory()
    _log_in(page, member.user)
    _upload_and_check(page)

    page.get_by_role("button", name="Import only the 3 valid rows").click()

    expect(page.get_by_role("heading", name="Import summary")).to_be_visible()
    progress = page.locator("#import-progress progress")
    expect(progress).to_have_attribute("max", "4")
    expect(progress).to_have_attribute("value", "4")
    summary = page.locator("#import-summary")
    expect(summary).to_contain_text(re.compile(r"Created\s*3"))
    expect(summary).to_contain_text(re.compile(r"Failed\s*1"))
    assert sorted(Variant.objects.values_list("sku", "stock_on_hand")) == [
        ("CAP-1", 20),
        ("MUG-L", 8),
        ("MUG-S", 12),
    ]


def test_the_progress_bar_polls_while_a_worker_runs_the_import(page, monkeypatch):
    member = factories.SupplierMemberFactory()
    _log_in(page, member.user)
    _upload_and_check(page)
    queued: list[int] = []
    monkeypatch.setattr(tasks.run_import_task, "delay", queued.append)  # the worker is elsewhere

    page.get_by_role("button", name="Import only the 3 valid rows").click()

    expect(page.get_by_role("heading", name="Importing")).to_be_visible()
    progress = page.locator("#import-progress progress")
    expect(progress).to_have_attribute("value", "0")
    expect(page.locator("#import-progress")).to_contain_text("0 of 4 rows")
    job = ImportJob.objects.get()
    assert queued == [job.pk]

    run_import(job_id=job.pk)  # what the worker does with the queued task

    expect(page.get_by_role("heading", name="Import summary")).to_be_visible(timeout=10_000)
    expect(progress).to_have_attribute("value", "4")
    expect(page.locator("#import-summary")).to_contain_text(re.compile(r"Created\s*3"))
