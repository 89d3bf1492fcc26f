"""Storage for private files: outside MEDIA_ROOT, with no URL, served only by permission-checking views."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    """Like the default storage, but rooted at settings.PRIVATE_MEDIA_ROOT (read when used)."""

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError(
            "Private files have no public URL; serve them through a view that checks access."
        )


def private_storage() -> PrivateStorage:
    """Callable for FileField(storage=...) so migrations refer to it by name."""
    return PrivateStorage()
