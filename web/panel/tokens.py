"""Signed panelist tokens and keyed hashes: trusting a panelist without storing who they are."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from web.keyed import keyed_hash
from web.settings import Settings

SESSION_SALT = "candor-panel-session"
MEDIA_SALT = "candor-ad-media"
# Crockford-style alphabet without I, L, O, U: nothing a panelist can misread when typing it back.
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_LENGTH = 16  # 80 bits


class InvalidToken(Exception):
    """A token that is forged, expired or for something else; the message says which."""


def respondent_hash(settings: Settings, respondent_id: str) -> str:
    """HMAC-SHA256 of the survey's respondent id, keyed from the secret; the raw id is not kept."""
    return keyed_hash(settings, "respondent", respondent_id)


def receipt_code(settings: Settings, session_public_id: uuid.UUID) -> str:
    """The receipt code shown to a panelist: derived, so it can be shown again but never stored."""
    digest = hmac.new(
        settings.secret_key.encode(), f"receipt:{session_public_id}".encode(), hashlib.sha256
    ).digest()
    number = int.from_bytes(digest[:10], "big")
    chars = []
    for _ in range(RECEIPT_LENGTH):
        number, rest = divmod(number, 32)
        chars.append(RECEIPT_ALPHABET[rest])
    code = "".join(chars)
    return "-".join(code[i : i + 4] for i in range(0, RECEIPT_LENGTH, 4))


def normalise_receipt(code: str) -> str:
    """Accept a receipt code typed back with spaces, dashes or lower case."""
    cleaned = "".join(c for c in code.upper() if c.isalnum())
    cleaned = cleaned.replace("O", "0").replace("I", "1").replace("L", "1")
    return "-".join(cleaned[i : i + 4] for i in range(0, len(cleaned), 4))


def receipt_hash(settings: Settings, code: str) -> str:
    """Keyed hash of a receipt code, the only form stored."""
    return keyed_hash(settings, "receipt", normalise_receipt(code))


def new_resume_token() -> str:
    """A random secret for the panelist's browser alone: 256 bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def resume_hash(settings: Settings, token: str) -> str:
    """Keyed hash of a resume token, the only form stored: a leaked table resumes nothing."""
    return keyed_hash(settings, "resume", token)


def _serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=salt)


def session_token(settings: Settings, session_public_id: uuid.UUID) -> tuple[str, datetime]:
    """A signed, short-lived bearer token naming one panel session, and when it expires."""
    token = _serializer(settings, SESSION_SALT).dumps({"sid": str(session_public_id)})
    expires_at = datetime.now(UTC) + timedelta(seconds=settings.session_token_ttl_seconds)
    return token, expires_at


def session_from_token(settings: Settings, token: str) -> uuid.UUID:
    """The session a token names; InvalidToken if forged or expired."""
    try:
        data = _serializer(settings, SESSION_SALT).loads(
            token, max_age=settings.session_token_ttl_seconds
        )
    except SignatureExpired as exc:
        raise InvalidToken("Session token expired; start a new session") from exc
    except BadSignature as exc:
        raise InvalidToken("Session token is not valid") from exc
    try:
        return uuid.UUID(str(data["sid"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidToken("Session token is not valid") from exc


def media_token(settings: Settings, ad_id: int) -> str:
    """A signed token for one ad's video and poster, for use in a <video> tag's query string."""
    return str(_serializer(settings, MEDIA_SALT).dumps({"ad": ad_id}))


def check_media_token(settings: Settings, token: str, ad_id: int) -> None:
    try:
        data = _serializer(settings, MEDIA_SALT).loads(
            token, max_age=settings.session_token_ttl_seconds
        )
    except SignatureExpired as exc:
        raise InvalidToken("Media link expired") from exc
    except BadSignature as exc:
        raise InvalidToken("Media link is not valid") from exc
    if not isinstance(data, dict) or data.get("ad") != ad_id:
        raise InvalidToken("Media link is for another ad")
