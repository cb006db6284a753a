"""Provenance of analysis results, stored once per distinct value and referenced by clips."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from web.clips.models import AnalysisProvenance


def _json_safe(value: Any) -> Any:
    """The value with every NaN or infinity made None: JSON has no NaN, and PostgreSQL refuses
    the token (an expression that is not measured leaves NaN figures behind)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def provenance_id(session: Session, provenance: dict[str, Any]) -> int | None:
    """The id of the row holding this provenance, inserted if new; None for an empty one.

    Concurrent workers saving the same new provenance both succeed: the insert does nothing
    on a digest that already exists. The caller owns the commit.
    """
    if not provenance:
        return None
    canonical = json.dumps(
        _json_safe(provenance), sort_keys=True, separators=(",", ":"), default=str, allow_nan=False
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    found = session.scalar(select(AnalysisProvenance.id).where(AnalysisProvenance.digest == digest))
    if found is not None:
        return found
    dialect = session.get_bind().dialect.name
    insert: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        insert = postgresql.insert(AnalysisProvenance)
    elif dialect == "sqlite":
        insert = sqlite.insert(AnalysisProvenance)
    else:
        raise RuntimeError(f"provenance needs PostgreSQL or SQLite, not {dialect}")
    session.execute(
        insert.values(digest=digest, provenance=json.loads(canonical)).on_conflict_do_nothing(
            index_elements=["digest"]
        )
    )
    return session.scalar(select(AnalysisProvenance.id).where(AnalysisProvenance.digest == digest))
