"""Retailer API: import catalog products into a store as a background job, and follow the job.

Retailer credentials only: a retailer API key (`Authorization: Bearer drk_…`) or a retailer
member's session. A store or job of another retailer answers 404.
"""

from datetime import datetime
from typing import Annotated, Literal

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from dropship.api import ErrorOut
from dropship.api_auth import RetailerApiRequest, api_actor, retailer_auth
from dropship.api_pagination import CursorPagination
from retailers import selectors, services
from retailers.models import PricingRule, Store, StoreImportJob
from retailers.services.importing import MAX_PRODUCTS_PER_JOB

router = Router(auth=retailer_auth, tags=["retailer imports"])


class ImportIn(Schema):
    store_id: int
    product_ids: Annotated[list[int], Field(min_length=1, max_length=MAX_PRODUCTS_PER_JOB)]
    pricing_rule_id: int | None = None


class JobCreatedOut(Schema):
    job_id: int
    status: str


class JobErrorOut(Schema):
    product_id: int
    error: str


class JobOut(Schema):
    id: int
    store_id: int
    status: str
    total: int
    succeeded: int
    failed: int
    progress_percent: int
    error: str
    errors: list[JobErrorOut]
    created_at: datetime
    finished_at: datetime | None


class JobSummaryOut(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 31,
                    "store_id": 14,
                    "status": "COMPLETED",
                    "total": 25,
                    "succeeded": 24,
                    "failed": 1,
                    "progress_percent": 100,
                    "error": "",
                    "created_at": "2026-12-07T18:00:00Z",
                    "finished_at": "2026-12-07T18:01:10Z",
                }
            ]
        }
    }

    id: int
    store_id: int
    status: str
    total: int = Field(alias="total_count")
    succeeded: int = Field(alias="succeeded_count")
    failed: int = Field(alias="failed_count")
    progress_percent: int
    error: str
    created_at: datetime
    finished_at: datetime | None


class JobFilters(Schema):
    store: int | None = Field(None, ge=1, le=2**31 - 1, description="Only this store's jobs.")
    status: Literal["QUEUED", "RUNNING", "COMPLETED", "FAILED"] | None = None


@router.get(
    "/jobs",
    response={200: list[JobSummaryOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_list_jobs",
)
@paginate(CursorPagination, ordering=("-created_at", "-id"))
def list_jobs(request: RetailerApiRequest, filters: Query[JobFilters]):
    """Your import jobs, newest first: status and progress counts (`GET /api/v1/jobs/{id}`
    lists a job's per-product errors)."""
    jobs = StoreImportJob.objects.filter(retailer=request.retailer)
    if filters.store:
        jobs = jobs.filter(store_id=filters.store)
    if filters.status:
        jobs = jobs.filter(status=filters.status)
    return jobs


@router.post(
    "/products/import",
    response={202: JobCreatedOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    operation_id="retailers_api_import_products",
)
def import_products(request: RetailerApiRequest, payload: ImportIn):
    """Import catalog products into one of your stores (a custom store too: its listings get
    Dropship ids). Answers 202 with the job to follow; 403 when the products' suppliers are over
    your plan's supplier limit, or while your account is read-only (plan unpaid)."""
    store = get_object_or_404(Store, pk=payload.store_id, retailer=request.retailer)
    rule = (
        get_object_or_404(PricingRule, pk=payload.pricing_rule_id, retailer=request.retailer)
        if payload.pricing_rule_id is not None
        else None
    )
    (job,) = services.start_store_imports(
        retailer=request.retailer,
        stores=[store],
        product_ids=payload.product_ids,
        pricing_rule=rule,
        actor=api_actor(request),
    )
    job.refresh_from_db()
    return 202, JobCreatedOut(job_id=job.pk, status=job.status)


@router.get(
    "/jobs/{job_id}",
    response={200: JobOut, 401: ErrorOut, 404: ErrorOut},
    operation_id="retailers_api_get_job",
)
def get_job(request: RetailerApiRequest, job_id: int):
    """An import job's status, progress and per-product errors."""
    job = selectors.get_import_job_for_retailer(retailer=request.retailer, job_id=job_id)
    errors = job.items.filter(status="ERROR").values_list("product_id", "error")
    return JobOut(
        id=job.pk,
        store_id=job.store_id,
        status=job.status,
        total=job.total_count,
        succeeded=job.succeeded_count,
        failed=job.failed_count,
        progress_percent=job.progress_percent,
        error=job.error,
        errors=[JobErrorOut(product_id=pid, error=err) for pid, err in errors],
        created_at=job.created_at,
        finished_at=job.finished_at,
    )
