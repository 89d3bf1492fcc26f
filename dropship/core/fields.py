"""Encryption at rest for secrets and personal data (store credentials, shopper addresses).

Values are encrypted with cryptography's MultiFernet built from settings.FIELD_ENCRYPTION_KEYS:
the first key encrypts, every key decrypts, so keys rotate by prepending a new one and running
`manage.py reencrypt_fields`. Encrypted columns cannot be filtered or ordered on.
"""

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be comma-separated Fernet keys "
            "(generate one with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)."
        ) from exc


def get_fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def is_encrypted_with_primary_key(token: str) -> bool:
    primary = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())
    try:
        primary.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def encrypt_str(plaintext: str) -> str:
    return get_fernet().encrypt(plaintext.encode()).decode()


def decrypt_str(token: str) -> str:
    try:
        return get_fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "An encrypted value cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS "
            "(was a key removed before `reencrypt_fields` ran?)."
        ) from exc


class EncryptedTextField(models.TextField):
    """A string stored as a Fernet token. Empty strings and None are stored as they are."""

    description = "Encrypted text"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_str(str(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return decrypt_str(value)

    def get_lookup(self, lookup_name: str):
        if lookup_name not in {"isnull", "exact"}:
            return None
        return super().get_lookup(lookup_name)


class EncryptedJSONField(models.TextField):
    """A JSON document (dict or list) stored as one Fernet token."""

    # What django-stubs reads as the attribute's type on the model: the decoded document, not the
    # column's text (the stubs' documented hook for a field whose Python value differs).
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    description = "Encrypted JSON"

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return encrypt_str(json.dumps(value, sort_keys=True, ensure_ascii=False))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return None
        return json.loads(decrypt_str(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return value
        return value

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))

    def get_lookup(self, lookup_name: str):
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)


ENCRYPTED_FIELD_TYPES = (EncryptedTextField, EncryptedJSONField)
