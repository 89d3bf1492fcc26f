"""Product images: checked by content on upload, with a small WebP thumbnail made for lists."""

from uuid import uuid4

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max

from catalog.models import Product, ProductImage
from dropship.accounts.models import User
from dropship.core.errors import DomainError
from dropship.core.uploads import check_image, make_thumbnail

MAX_IMAGES_PER_PRODUCT = 20


@transaction.atomic
def add_product_image(
    *, product: Product, actor: User | None, upload: "UploadedFile[bytes]", alt_text: str = ""
) -> ProductImage:
    """Store an uploaded image (JPEG/PNG/WebP, ≤ 5 MB) and its thumbnail; refuse anything else."""
    kind = check_image(upload, field="image")
    product = Product.objects.select_for_update().get(pk=product.pk)
    if product.images.count() >= MAX_IMAGES_PER_PRODUCT:
        raise DomainError(
            f"A product can have at most {MAX_IMAGES_PER_PRODUCT} images; remove one first.",
            field="image",
        )
    position = (product.images.aggregate(last=Max("position"))["last"] or 0) + 1
    name = uuid4().hex
    image = ProductImage(
        product=product,
        alt_text=(alt_text or product.title).strip()[:255],
        position=position if product.images.exists() else 0,
    )
    image.image.save(f"{name}{kind.extensions[0]}", upload, save=False)
    image.thumbnail.save(f"{name}.webp", make_thumbnail(image.image), save=False)
    image.save()
    return image


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
