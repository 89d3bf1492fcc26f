from django.db import models
from django.utils.text import slugify


def unique_slug(
    model: type[models.Model], value: str, *, field: str = "slug", max_length: int = 60
) -> str:
    """A slug from `value` not yet used by `model` (acme, acme-2, acme-3 ...)."""
    base = (slugify(value) or "org")[:max_length].strip("-") or "org"
    candidate, n = base, 1
    while model._default_manager.filter(**{field: candidate}).exists():
        n += 1
        candidate = f"{base[: max_length - len(str(n)) - 1]}-{n}"
    return candidate
