"""The browser cookies the login and the CSRF protection share: the login cookie's name, how
long both live, and the Secure flag."""

from __future__ import annotations

from web.settings import Settings

COOKIE_NAME = "candor_session"
COOKIE_MAX_AGE_SECONDS = 14 * 24 * 3600


def cookie_is_secure(settings: Settings) -> bool:
    """Cookies are `Secure` whenever Candor is served over https."""
    return settings.base_url.lower().startswith("https://")
