"""The one form a secret we must recognise again is stored in: a keyed hash.

Panelists' respondent ids, receipt codes and resume tokens (web/panel/tokens.py) and users' API
tokens (web/accounts/tokens.py) are stored only as HMAC-SHA256 under a key derived from the
server secret for one purpose each, so a copied table opens nothing and one purpose's hash never
matches another's.
"""

from __future__ import annotations

import hashlib
import hmac

from web.settings import Settings


def keyed_hash(settings: Settings, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` under a key derived from the secret for one `purpose`."""
    key = hashlib.sha256(f"{purpose}:{settings.secret_key}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
