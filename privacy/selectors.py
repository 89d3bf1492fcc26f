from django.db.models import QuerySet
from django.http import Http404

from dropship.accounts.models import User
from privacy.models import DataExport


def list_data_exports_for_user(*, user: User) -> QuerySet[DataExport]:
    return DataExport.objects.filter(requested_by=user).select_related("supplier", "retailer")[:20]


def get_data_export_for_requester(*, user: User, public_id: str) -> DataExport:
    """The export, if this user asked for it; anything else is 404, whoever it belongs to."""
    export = DataExport.objects.filter(requested_by=user, public_id=public_id).first()
    if export is None:
        raise Http404("No such export.")
    return export
