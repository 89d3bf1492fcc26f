"""Every write to the catalog. Stock changes, whatever their source, go through `stock`."""

from catalog.services.images import (
    ImageSourceUnavailable,
    add_product_image,
    add_product_image_from_url,
    remove_product_image,
)
from catalog.services.imports import (
    commit_import,
    create_import_job,
    run_import,
    start_import_validation,
    validate_import,
)
from catalog.services.products import (
    BulkAction,
    CatalogError,
    VariantData,
    apply_bulk_action,
    create_product,
    create_variant,
    update_product,
    update_variant,
    update_variant_price,
)
from catalog.services.stock import (
    MAX_STOCK_QUANTITY,
    StockBelowReserved,
    StockChange,
    StockError,
    StockUpdateResult,
    set_stock,
    set_stock_levels,
)
from catalog.services.upserts import (
    MAX_UPSERT_ROWS,
    UpsertRefused,
    UpsertResult,
    upsert_variants,
)

__all__ = [
    "MAX_STOCK_QUANTITY",
    "MAX_UPSERT_ROWS",
    "BulkAction",
    "CatalogError",
    "ImageSourceUnavailable",
    "StockBelowReserved",
    "StockChange",
    "StockError",
    "StockUpdateResult",
    "UpsertRefused",
    "UpsertResult",
    "VariantData",
    "add_product_image",
    "add_product_image_from_url",
    "apply_bulk_action",
    "commit_import",
    "create_import_job",
    "create_product",
    "create_variant",
    "remove_product_image",
    "run_import",
    "set_stock",
    "set_stock_levels",
    "start_import_validation",
    "update_product",
    "update_variant",
    "update_variant_price",
    "upsert_variants",
    "validate_import",
]
