"""Signed respondent ids: proof that a start comes from the survey or panel that knows the id.

Each integration has a signing secret of its own, apart from its public key (which is in every
embed). The survey or panel signs `public_key|rid|exp` with HMAC-SHA256 under that secret and
passes `rid`, `exp` (Unix seconds) and `sig` (hex) to the recorder; Candor checks it in constant
time. Only a signed start may supersede or erase a respondent's earlier sessions
(web/panel/starts.py, web/panel/service.py); an unsigned one only ever adds a session of its own.

The secret is shown to the designer once, when made; the row keeps it wrapped (AES-GCM) by a
key derived from the server secret, because checking an HMAC needs the secret itself. Rotation
keeps the previous secret valid until the designer retires it, so surveys can be switched over
without refusing a panelist in between.

Designer previews carry a token only the integration page issues (signed, short-lived), so no
outsider can start uncounted, analysed sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import time
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from web.errors import Refused
from web.settings import Settings
from web.studies.models import Integration

log = logging.getLogger(__name__)
_WRAP_INFO = b"candor integration signing-secret wrapping v1"
_NONCE_BYTES = 12
PREVIEW_SALT = "candor-preview"
SIG_PATTERN = r"^[0-9a-fA-F]{64}$"


class ProofRefused(Refused):
    """A start whose proof (respondent signature or preview token) does not hold; `code`
    names the reason for clients (signature_required, signature_invalid, ...)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, code=code)


class SecretUnreadable(Exception):
    """A stored signing secret that does not unwrap (the server secret changed)."""


@lru_cache(maxsize=4)
def _wrapping(secret_key: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"candor", info=_WRAP_INFO).derive(
        secret_key.encode()
    )
    return AESGCM(derived)


def _wrap(settings: Settings, public_key: str, secret: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _wrapping(settings.secret_key).encrypt(nonce, secret.encode(), public_key.encode())
    return base64.b64encode(nonce + sealed).decode()


def _unwrap(settings: Settings, public_key: str, wrapped: str) -> str:
    raw = base64.b64decode(wrapped)
    try:
        plain = _wrapping(settings.secret_key).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], public_key.encode()
        )
    except InvalidTag as exc:
        raise SecretUnreadable("a signing secret does not unwrap (server secret changed?)") from exc
    return plain.decode()


def rotate_secret(settings: Settings, integration: Integration) -> str:
    """A new signing secret, returned once; the current one stays valid as the previous one.

    The caller owns the commit."""
    secret = secrets.token_urlsafe(32)
    integration.previous_signing_secret = integration.signing_secret
    integration.signing_secret = _wrap(settings, integration.public_key, secret)
    return secret


def retire_previous_secret(integration: Integration) -> None:
    """End a rotation: only the newest secret signs from now on. The caller owns the commit."""
    integration.previous_signing_secret = None


def signature(secret: str, public_key: str, respondent_id: str, exp: int) -> str:
    """HMAC-SHA256(secret, "public_key|rid|exp") in lower-case hex: what a survey computes."""
    message = f"{public_key}|{respondent_id}|{exp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _secrets_of(settings: Settings, integration: Integration) -> list[str]:
    """The secrets that sign for this integration now; one that no longer unwraps (the server
    secret changed) signs nothing, and says so in the log, rather than failing the request."""
    secrets_now = []
    for wrapped in (integration.signing_secret, integration.previous_signing_secret):
        if not wrapped:
            continue
        try:
            secrets_now.append(_unwrap(settings, integration.public_key, wrapped))
        except SecretUnreadable:
            log.warning("integration %s: a signing secret does not unwrap", integration.id)
    return secrets_now


def verify_respondent(
    settings: Settings,
    integration: Integration,
    respondent_id: str,
    exp: int | None,
    sig: str | None,
    now: float | None = None,
) -> bool:
    """True for a valid signed start, False for an unsigned one the integration allows;
    ProofRefused for a bad, expired or missing-but-required signature."""
    if sig is None and exp is None:
        if integration.require_signature:
            raise ProofRefused(
                "signature_required",
                "This study accepts only signed respondent ids: the survey must pass exp and sig",
            )
        return False
    if sig is None or exp is None:
        raise ProofRefused("signature_invalid", "A signed start needs both exp and sig")
    now = time.time() if now is None else now
    if exp < now:
        raise ProofRefused(
            "signature_expired", "This signed link has expired; reopen it from the survey"
        )
    if exp > now + settings.respondent_signature_max_days * 86400:
        raise ProofRefused(
            "signature_invalid",
            f"exp is more than {settings.respondent_signature_max_days} days ahead",
        )
    expected = [
        signature(secret, integration.public_key, respondent_id, exp)
        for secret in _secrets_of(settings, integration)
    ]
    # compare_digest for each: no early exit reveals how much of a forged sig was right.
    matches = [hmac.compare_digest(candidate, sig.lower()) for candidate in expected]
    if not any(matches):
        raise ProofRefused("signature_invalid", "The respondent signature is not valid")
    return True


def preview_token(settings: Settings, public_key: str) -> str:
    """What the integration page puts in its preview link: only a signed-in designer gets one."""
    serializer = URLSafeTimedSerializer(settings.secret_key, salt=PREVIEW_SALT)
    return str(serializer.dumps({"i": public_key}))


def check_preview_token(settings: Settings, integration: Integration, token: str | None) -> None:
    """ProofRefused unless the token was issued for this integration's preview, recently."""
    if not token:
        raise ProofRefused(
            "preview_token_required", "A preview starts only from the integration page's link"
        )
    serializer = URLSafeTimedSerializer(settings.secret_key, salt=PREVIEW_SALT)
    try:
        data = serializer.loads(token, max_age=settings.preview_token_ttl_seconds)
    except SignatureExpired as exc:
        raise ProofRefused(
            "preview_token_expired", "This preview link has expired; open a new one"
        ) from exc
    except BadSignature as exc:
        raise ProofRefused("preview_token_invalid", "The preview token is not valid") from exc
    if not isinstance(data, dict) or data.get("i") != integration.public_key:
        raise ProofRefused("preview_token_invalid", "The preview token is for another integration")
