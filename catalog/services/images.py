"""Product images: checked by content on upload, with a small WebP thumbnail made for lists.

An image can also be given by URL (the API): it is fetched through the one safe outbound helper
(no private, loopback or metadata addresses, a timeout and a size cap) and then goes through the
same content checks and thumbnail as an upload.
"""

from urllib.parse import urlsplit
from uuid import uuid4

from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import transaction
from django.db.models import Max

from catalog.models import Product, ProductImage
from dropship.accounts.models import User
from dropship.core.errors import DomainError, PermanentError, TemporaryError
from dropship.core.uploads import IMAGE_MAX_BYTES, MEGABYTE, check_image, make_thumbnail
from integrations.safe_http import ResponseTooLargeError, UnsafeURLError, safe_request

MAX_IMAGES_PER_PRODUCT = 20
IMAGE_FETCH_TIMEOUT_SECONDS = 10.0
MAX_IMAGE_URL_LENGTH = 1000


class ImageSourceUnavailable(DomainError):
    """The image's server did not answer, or answered with an error: may work later."""

    status_code = 502


@transaction.atomic
def add_product_image(
    *,
    product: Product,
    actor: User | None,
    upload: "UploadedFile[bytes]",
    alt_text: str = "",
    source_url: str = "",
    field: str = "image",
) -> ProductImage:
    """Store an uploaded image (JPEG/PNG/WebP, ≤ 5 MB) and its thumbnail; refuse anything else."""
    kind = check_image(upload, field=field)
    product = Product.objects.select_for_update().get(pk=product.pk)
    if product.images.count() >= MAX_IMAGES_PER_PRODUCT:
        raise DomainError(
            f"A product can have at most {MAX_IMAGES_PER_PRODUCT} images; remove one first.",
            field=field,
        )
    position = (product.images.aggregate(last=Max("position"))["last"] or 0) + 1
    name = uuid4().hex
    image = ProductImage(
        product=product,
        alt_text=(alt_text or product.title).strip()[:255],
        position=position if product.images.exists() else 0,
        source_url=source_url[:MAX_IMAGE_URL_LENGTH],
    )
    image.image.save(f"{name}{kind.extensions[0]}", upload, save=False)
    image.thumbnail.save(f"{name}.webp", make_thumbnail(image.image), save=False)
    image.save()
    return image


def fetch_image(*, url: str, field: str = "url") -> "UploadedFile[bytes]":
    """Download an image a user pointed at, through the safe outbound helper: at most 5 MB, within
    the timeout, from a public address only. The bytes are not trusted yet: callers check them."""
    url = url.strip()
    parts = urlsplit(url)
    if (
        len(url) > MAX_IMAGE_URL_LENGTH
        or parts.scheme not in {"http", "https"}
        or not parts.hostname
    ):
        raise DomainError("Enter the image's full address, starting with https://.", field=field)
    try:
        response = safe_request(
            "GET",
            url,
            headers={"Accept": "image/jpeg, image/png, image/webp"},
            timeout=IMAGE_FETCH_TIMEOUT_SECONDS,
            max_bytes=IMAGE_MAX_BYTES,
        )
    except ResponseTooLargeError as exc:
        raise DomainError(
            f"The image at that address is larger than {IMAGE_MAX_BYTES // MEGABYTE} MB.",
            field=field,
        ) from exc
    except UnsafeURLError as exc:
        raise DomainError(str(exc), field=field) from exc
    except TemporaryError as exc:
        raise ImageSourceUnavailable(f"{exc} Try again later.", field=field) from exc
    except PermanentError as exc:
        raise DomainError(str(exc), field=field) from exc
    if response.status_code >= 500:
        raise ImageSourceUnavailable(
            f"{parts.hostname} answered {response.status_code}; try again later.", field=field
        )
    if not response.ok:
        raise DomainError(
            f"{parts.hostname} answered {response.status_code} for that address, not an image.",
            field=field,
        )
    name = parts.path.rsplit("/", 1)[-1][:100] or "image"
    return SimpleUploadedFile(name, response.content, response.headers.get("Content-Type", ""))


def add_product_image_from_url(
    *, product: Product, actor: User | None, url: str, alt_text: str = ""
) -> ProductImage:
    """Fetch an image by URL (outside any transaction: no row is locked while we wait on another
    server) and store it like an upload, with the address it came from."""
    upload = fetch_image(url=url, field="url")
    return add_product_image(
        product=product,
        actor=actor,
        upload=upload,
        alt_text=alt_text,
        source_url=url.strip(),
        field="url",
    )


@transaction.atomic
def remove_product_image(*, image: ProductImage, actor: User | None) -> None:
    """Delete the row, then the files once the deletion is committed."""
    names = [f.name for f in (image.image, image.thumbnail) if f and f.name]
    storage = image.image.storage
    image.delete()

    def delete_files() -> None:
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete_files)
