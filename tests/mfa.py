"""Signing staff in as allauth does once they passed their second factor, for tests about
something else than the sign-in itself (tests/accounts/test_mfa.py walks the real flow)."""

import base64
import hashlib
import hmac
import struct
import time

from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret


def login_with_second_factor(client, user) -> None:
    """Log `user` in with a TOTP authenticator set up and passed in this session."""
    authenticator = (
        Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
        or TOTP.activate(user, generate_totp_secret()).instance
    )
    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "mfa", "at": time.time(), "id": authenticator.pk, "type": "totp"}
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()


def totp_code(secret: str, *, at: float | None = None) -> str:
    """The RFC 6238 code an authenticator app shows for `secret` now (or at `at`)."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"
