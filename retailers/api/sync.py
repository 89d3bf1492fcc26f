"""`GET /api/v1/sync/status`: the retailer's inventory sync, per store (retailer credentials only).

A retailer API key (`Authorization: Bearer drk_…`) or a retailer member's session; a supplier
key answers 401. Only the key's own retailer's stores are shown.
"""

from datetime import datetime

from ninja import Router, Schema

from dropship.api import ErrorOut
from dropship.api_auth import RetailerApiRequest, retailer_auth
from retailers.sync.status import list_store_sync_status

router = Router(auth=retailer_auth, tags=["inventory sync"])


class StoreSyncOut(Schema):
    storeId: str
    name: str
    platform: str
    status: str
    lastSync: datetime | None
    pendingUpdates: int
    refusedItems: int
    freshnessP95Seconds: float | None
    errors: list[str]


class SyncStatusOut(Schema):
    lastSync: datetime | None
    pendingUpdates: int
    errors: list[str]
    stores: list[StoreSyncOut]


@router.get(
    "/status",
    response={200: SyncStatusOut, 401: ErrorOut},
    operation_id="retailers_sync_api_sync_status",
)
def sync_status(request: RetailerApiRequest):
    """Per store: pending stock updates, the last successful push, errors, freshness p95."""
    stores = [
        StoreSyncOut(
            storeId=str(s.store.public_id),
            name=s.store.name,
            platform=s.store.platform,
            status=s.store.status,
            lastSync=s.last_push_at,
            pendingUpdates=s.pending,
            refusedItems=s.refused,
            freshnessP95Seconds=(
                round(s.freshness_p95_seconds, 1) if s.freshness_p95_seconds is not None else None
            ),
            errors=s.errors,
        )
        for s in list_store_sync_status(retailer=request.retailer)
    ]
    pushes = [s.lastSync for s in stores if s.lastSync]
    return SyncStatusOut(
        lastSync=max(pushes) if pushes else None,
        pendingUpdates=sum(s.pendingUpdates for s in stores),
        errors=[f"{s.name}: {e}" for s in stores for e in s.errors],
        stores=stores,
    )
