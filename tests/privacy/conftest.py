import pytest


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    """Exports land in a private folder of their own per test."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
