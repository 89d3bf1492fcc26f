"""Checks for files people upload: judged by their content (magic bytes, Pillow), not their names.

A PNG renamed .pdf, a script renamed .jpg or a decompression bomb is refused with a message that
says what is wrong; nothing is stored before these checks pass.
"""

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError

from dropship.core.errors import DomainError

MEGABYTE = 1024 * 1024
DOCUMENT_MAX_BYTES = 10 * MEGABYTE
IMAGE_MAX_BYTES = 5 * MEGABYTE
IMAGE_MAX_PIXELS = 40_000_000  # 40 megapixels; anything larger is refused before decoding
THUMBNAIL_SIZE = (240, 240)


class UploadError(DomainError):
    pass


@dataclass(frozen=True)
class FileKind:
    content_type: str
    label: str
    extensions: tuple[str, ...]
    magic: tuple[bytes, ...]


PDF = FileKind("application/pdf", "PDF", (".pdf",), (b"%PDF-",))
PNG = FileKind("image/png", "PNG", (".png",), (b"\x89PNG\r\n\x1a\n",))
JPEG = FileKind("image/jpeg", "JPEG", (".jpg", ".jpeg"), (b"\xff\xd8\xff",))
WEBP = FileKind("image/webp", "WebP", (".webp",), ())  # RIFF....WEBP, checked below

DOCUMENT_KINDS = (PDF, PNG, JPEG)
IMAGE_FORMATS = {"JPEG": JPEG, "PNG": PNG, "WEBP": WEBP}


def _size_label(limit: int) -> str:
    return f"{limit // MEGABYTE} MB"


def _head(uploaded: UploadedFile, length: int = 16) -> bytes:
    uploaded.seek(0)
    head = uploaded.read(length)
    uploaded.seek(0)
    return head


def _sniff(head: bytes, kinds: tuple[FileKind, ...]) -> FileKind | None:
    for kind in kinds:
        if any(head.startswith(magic) for magic in kind.magic):
            return kind
    return None


def check_document(uploaded: UploadedFile, *, field: str = "document") -> FileKind:
    """A verification document: PDF, PNG or JPEG by content, with a matching extension, ≤ 10 MB."""
    if uploaded.size is not None and uploaded.size > DOCUMENT_MAX_BYTES:
        raise UploadError(
            f"The file is {uploaded.size / MEGABYTE:.1f} MB; the limit is "
            f"{_size_label(DOCUMENT_MAX_BYTES)}.",
            field=field,
        )
    if not uploaded.size:
        raise UploadError("The file is empty.", field=field)
    kind = _sniff(_head(uploaded), DOCUMENT_KINDS)
    if kind is None:
        raise UploadError(
            "This file is not a PDF, PNG or JPEG (its content says otherwise, whatever its name).",
            field=field,
        )
    extension = Path(uploaded.name or "").suffix.lower()
    if extension not in kind.extensions:
        raise UploadError(
            f"The file's content is {kind.label} but its name ends in “{extension or 'nothing'}”; "
            f"rename it to {kind.extensions[0]} or upload the right file.",
            field=field,
        )
    return kind


def _open_image(uploaded: UploadedFile, *, field: str) -> Image.Image:
    uploaded.seek(0)
    try:
        image = Image.open(uploaded)
        width, height = image.size
        if width * height > IMAGE_MAX_PIXELS:
            raise UploadError(
                f"The image is {width}×{height} pixels; the limit is 40 megapixels.", field=field
            )
        image.verify()  # checks the whole file's structure without decoding it
    except UploadError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise UploadError(
            "This file is not a readable JPEG, PNG or WebP image.", field=field
        ) from exc
    finally:
        uploaded.seek(0)
    return image


def check_image(uploaded: UploadedFile, *, field: str = "image") -> FileKind:
    """A product image or logo: JPEG, PNG or WebP decoded by Pillow, ≤ 5 MB, ≤ 40 megapixels."""
    if uploaded.size is not None and uploaded.size > IMAGE_MAX_BYTES:
        raise UploadError(
            f"The image is {uploaded.size / MEGABYTE:.1f} MB; the limit is "
            f"{_size_label(IMAGE_MAX_BYTES)}.",
            field=field,
        )
    if not uploaded.size:
        raise UploadError("The file is empty.", field=field)
    image = _open_image(uploaded, field=field)
    kind = IMAGE_FORMATS.get(image.format or "")
    if kind is None:
        raise UploadError(
            f"{image.format or 'This'} images are not accepted; upload a JPEG, PNG or WebP image.",
            field=field,
        )
    return kind


def make_thumbnail(uploaded: File, *, size: tuple[int, int] = THUMBNAIL_SIZE) -> ContentFile:
    """A WebP copy that fits in `size`, keeping proportions and transparency, for lists."""
    uploaded.seek(0)
    with Image.open(uploaded) as original:
        original.draft("RGB", (size[0] * 2, size[1] * 2))  # JPEG: decode at a reduced scale
        image = original.convert("RGBA" if original.mode in ("RGBA", "LA", "P") else "RGB")
        image.thumbnail(size, Image.Resampling.LANCZOS)
        buffer = BytesIO()
        image.save(buffer, format="WEBP", quality=82, method=4)
    uploaded.seek(0)
    return ContentFile(buffer.getvalue())


def check_attachment(uploaded: UploadedFile, *, field: str = "attachments") -> FileKind:
    """A file sent with a message: a PDF (checked as a document, ≤ 10 MB) or a JPEG, PNG or WebP
    image (checked as an image, ≤ 5 MB); anything else is refused, whatever its name says."""
    if _sniff(_head(uploaded), (PDF,)) is not None:
        return check_document(uploaded, field=field)
    if uploaded.size and _sniff(_head(uploaded), (PNG, JPEG)) is None:
        head = _head(uploaded)
        if not (head.startswith(b"RIFF") and head[8:12] == b"WEBP"):
            raise UploadError(
                f"“{uploaded.name}” is not a PDF or a JPEG, PNG or WebP image (its content says "
                "otherwise, whatever its name).",
                field=field,
            )
    return check_image(uploaded, field=field)
