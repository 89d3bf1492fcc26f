"""An organisation's data export holds its conversations (both sides' messages, attachment
names), never another organisation's; a person's export holds the messages they wrote."""

import json
import zipfile

import pytest

from messaging.models import Side
from messaging.services import post_message
from privacy.models import DataExport
from privacy.services.exports import build_data_export
from tests import factories
from tests.messaging.files import png

pytestmark = pytest.mark.django_db


def _data(export):
    build_data_export(export_id=export.pk)
    export.refresh_from_db()
    with export.file.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        return json.loads(archive.read("data.json"))


def test_exports_hold_the_organisations_messages_only(supplier_order, retailer_user):
    post_message(
        supplier_order=supplier_order,
        side=Side.RETAILER,
        body="Our question",
        author=retailer_user,
        files=[png("label.png")],
    )
    post_message(supplier_order=supplier_order, side=Side.SUPPLIER, body="Their answer")
    post_message(
        supplier_order=factories.SupplierOrderFactory(), side=Side.RETAILER, body="Someone else's"
    )

    organisation = _data(
        DataExport.objects.create(
            requested_by=retailer_user,
            scope=DataExport.Scope.ORGANISATION,
            retailer=supplier_order.order.retailer,
        )
    )
    personal = _data(
        DataExport.objects.create(requested_by=retailer_user, scope=DataExport.Scope.USER)
    )

    assert [(m["side"], m["body"], m["attachments__name"]) for m in organisation["messages"]] == [
        ("RETAILER", "Our question", "label.png"),
        ("SUPPLIER", "Their answer", None),
    ]
    assert [m["body"] for m in personal["messages_written"]] == ["Our question"]
