"""Keep per-ad aggregates current as clips finish or are erased, without rescanning panelists."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections import defaultdict

from sqlalchemy import ColumnElement, column, delete, exists, func, select, table, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from candor.metrics import CURVE_METRICS, EMOTION_METRICS
from web.clips.models import AdAggregate, Clip, ClipEmotionSecond, ClipSecond, PanelSession

# The studies' ad table, named here without importing web.studies (web.clips sits below it).
_AD = table("ad", column("id"), column("aggregate_version"))
_STUDY = table("study", column("id"), column("on_device"))
ALL_PANELISTS = ("", "")


def segment_keys(passthrough: dict[str, object]) -> list[tuple[str, str]]:
    """The whole sample plus one segment per pass-through variable the panelist carries."""
    keys = [ALL_PANELISTS]
    for var, value in sorted(passthrough.items()):
        if value is not None and str(value) != "":
            keys.append((str(var)[:64], str(value)[:200]))
    return keys


def duplicate_of_counted() -> ColumnElement[bool]:
    """The duplicate rule, for a query over Clip joined to its PanelSession: another clip of the
    same ad from a session with the same respondent id in the study is already counted.

    Unsigned starts prove nothing about who they are, so one respondent id may have several
    sessions (a reopened link, or someone else using the id); none is deleted, and per ad only
    the first clip counted stays in the aggregates. Data quality shows how many were left out."""
    other = aliased(PanelSession)
    earlier = aliased(Clip)
    return exists().where(
        earlier.ad_id == Clip.ad_id,
        earlier.id != Clip.id,
        earlier.aggregated.is_(True),
        other.id == earlier.session_id,
        other.study_id == PanelSession.study_id,
        other.respondent_hash == PanelSession.respondent_hash,
        other.respondent_hash != "",
        other.is_preview.is_(False),
    )


def _duplicate(session: Session, clip: Clip, panel_session: PanelSession) -> bool:
    if not panel_session.respondent_hash:
        return False
    if session.get_bind().dialect.name == "postgresql":
        # Two workers saving clips of one respondent id at once would each see no other counted
        # clip: they take turns (until commit) on a lock named after the id. SQLite has one
        # writer at a time already.
        digest = hashlib.sha256(panel_session.respondent_hash.encode()).digest()
        lock = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(select(func.pg_advisory_xact_lock(lock)))
    query = (
        select(duplicate_of_counted())
        .select_from(Clip)
        .join(PanelSession, PanelSession.id == Clip.session_id)
        .where(Clip.id == clip.id)
    )
    return bool(session.scalar(query))


def _other_mode(session: Session, panel_session: PanelSession) -> bool:
    """The session was analysed in another mode than its study's: a panelist of an on-device
    study whose browser could not read the face and who agreed to server mode (issue 22). The
    two modes' curves are not calibrated against each other, so such a clip is analysed and
    exported (marked) but never pooled into the ad's aggregates. Both flags are fixed before
    the session's first clip, so -1 stays the exact inverse of +1."""
    study_on_device = session.scalar(
        select(_STUDY.c.on_device).where(_STUDY.c.id == panel_session.study_id)
    )
    return study_on_device is not None and bool(study_on_device) != panel_session.on_device


def apply_clip(session: Session, clip_id: int, sign: int) -> int:
    """Add (sign=+1) or remove (sign=-1) one clip's seconds to its ad's aggregates.

    Every metric in CURVE_METRICS, and every emotion metric for a clip that has emotion rows
    (emotion mode only): a clip without them adds no emotion cell, not even an empty one.

    Uses an atomic upsert (n = n + excluded.n) so concurrent workers never lose an update.
    Returns the number of aggregate cells touched (0 for a preview session's clip, which is
    never counted, for a duplicate: see duplicate_of_counted, and for a session analysed in
    another mode than its study's: see _other_mode). The caller owns the commit
    and records `aggregated` from the count, so -1 is only ever applied to what +1 added.
    """
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1, not {sign}")
    clip = session.get(Clip, clip_id)
    if clip is None:
        return 0
    panel_session = session.get(PanelSession, clip.session_id)
    # The preview rule lives here, not in the pipeline: this is the one writer of AdAggregate,
    # so no caller (the worker, a re-run, a rebuild, a seed script) can count a designer's own
    # face by forgetting the check. A preview session never changes flag, so -1 stays the exact
    # inverse of +1 (both touch nothing), and callers record `aggregated` from the count.
    if panel_session is not None and panel_session.is_preview:
        return 0
    if sign == 1 and panel_session is not None and _duplicate(session, clip, panel_session):
        return 0
    if panel_session is not None and _other_mode(session, panel_session):
        return 0
    passthrough = panel_session.passthrough if panel_session else {}
    tables: list[tuple[type[ClipSecond] | type[ClipEmotionSecond], tuple[str, ...]]] = [
        (ClipSecond, CURVE_METRICS),
        (ClipEmotionSecond, EMOTION_METRICS),
    ]
    cells: dict[tuple[str, str, str, int], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for model, metrics in tables:
        columns = [getattr(model, m) for m in metrics]
        rows = session.execute(select(model.second, *columns).where(model.clip_id == clip_id)).all()
        for keys in segment_keys(passthrough):
            for second, *values in rows:
                for metric, value in zip(metrics, values, strict=True):
                    # Empty (unreadable, not measured) is no observation, never a zero; a NaN
                    # left by an older writer would turn the whole cell's sum into NaN.
                    if value is None or not math.isfinite(value):
                        continue
                    cell = cells[(keys[0], keys[1], metric, second)]
                    cell[0] += sign
                    cell[1] += sign * value
                    cell[2] += sign * value * value
    if not cells:
        return 0

    values = [
        {
            "ad_id": clip.ad_id,
            "segment_var": var,
            "segment_value": val,
            "metric": metric,
            "second": second,
            "n": int(n),
            "sum": total,
            "sumsq": total_sq,
        }
        for (var, val, metric, second), (n, total, total_sq) in sorted(cells.items())
    ]
    dialect = session.get_bind().dialect.name
    insert: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        insert = postgresql.insert(AdAggregate)
    elif dialect == "sqlite":
        insert = sqlite.insert(AdAggregate)
    else:
        raise RuntimeError(f"aggregates need PostgreSQL or SQLite, not {dialect}")
    table = AdAggregate.__table__
    statement = insert.on_conflict_do_update(
        index_elements=["ad_id", "segment_var", "segment_value", "metric", "second"],
        set_={
            "n": table.c.n + insert.excluded.n,
            "sum": table.c.sum + insert.excluded.sum,
            "sumsq": table.c.sumsq + insert.excluded.sumsq,
        },
    )
    # Sorted keys keep lock order stable across workers, so concurrent upserts cannot deadlock.
    session.execute(statement, values)
    bump_aggregate_version(session, clip.ad_id)
    return len(values)


def bump_aggregate_version(session: Session, ad_id: int) -> None:
    """Say the ad's aggregates changed (in the writer's transaction): figures cached from them
    (web.results.service.summaries) are recomputed on their next read, in every web process.

    The version is a fresh random token, not a counter: a rolled-back change followed by
    another can never bring back a version some reader cached for other aggregates."""
    session.execute(
        update(_AD)
        .where(_AD.c.id == ad_id)
        .values(aggregate_version=secrets.randbits(62) + 1)
        .execution_options(synchronize_session=False)
    )


def _rebuild_statement(model: type[ClipSecond] | type[ClipEmotionSecond]) -> str:
    table = model.__tablename__
    metrics = CURVE_METRICS if model is ClipSecond else EMOTION_METRICS
    # Empty (NULL) and non-finite values are no observation, as in apply_clip.
    clean = ", ".join(
        f"CASE WHEN s.{m} IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE s.{m} END AS v{i}"
        for i, m in enumerate(metrics)
    )
    sums = ", ".join(
        f"count(v.v{i}) AS n{i}, sum(v.v{i}) AS s{i}, sum(v.v{i} * v.v{i}) AS q{i}"
        for i in range(len(metrics))
    )
    cells = ", ".join(f"('{m}', r.n{i}, r.s{i}, r.q{i})" for i, m in enumerate(metrics))
    # One pass over the seconds, summed per second and set of pass-through values (few sets);
    # those sums are then spread over segment_keys in SQL: the whole sample, then one segment
    # per pass-through variable whose value is neither missing nor empty, names and values cut
    # as segment_keys cuts them. Table and column names are the models' own (candor.metrics).
    return f"""
        WITH readings AS (
            SELECT s.second, p.passthrough::text AS pt, {sums}
            FROM {table} s
            JOIN clip c ON c.id = s.clip_id
            JOIN panel_session p ON p.id = c.session_id
            CROSS JOIN LATERAL (SELECT {clean}) v
            WHERE c.ad_id = :ad_id AND c.aggregated
            GROUP BY s.second, p.passthrough::text
        )
        INSERT INTO ad_aggregate (ad_id, segment_var, segment_value, metric, second, n, sum, sumsq)
        SELECT :ad_id, seg.var, seg.val, m.metric, r.second, sum(m.n), sum(m.s), sum(m.q)
        FROM readings r
        CROSS JOIN LATERAL (
            SELECT '' AS var, '' AS val
            UNION ALL
            SELECT left(e.key, 64), left(e.value, 200)
            FROM json_each_text(
                CASE WHEN json_typeof(r.pt::json) = 'object' THEN r.pt::json ELSE '{{}}'::json END
            ) e
            WHERE e.value IS NOT NULL AND e.value <> ''
        ) seg
        CROSS JOIN LATERAL (VALUES {cells}) AS m(metric, n, s, q)
        WHERE m.n > 0
        GROUP BY seg.var, seg.val, m.metric, r.second
    """  # noqa: S608


def rebuild_aggregates(session: Session, ad_id: int) -> int:
    """Rebuild one ad's aggregates from scratch, in two statements, from its clips marked
    `aggregated` (those apply_clip counted): the same cells apply_clip's running sums hold, up
    to the order floating-point sums were taken in. For loading many clips at once (the
    results benchmark seeds 10,000 panelists this way) and for checking the running sums.
    PostgreSQL only. The caller owns the commit. Returns the number of cells written."""
    if session.get_bind().dialect.name != "postgresql":
        raise RuntimeError("rebuild_aggregates needs PostgreSQL")
    session.execute(delete(AdAggregate).where(AdAggregate.ad_id == ad_id))
    written = 0
    for model in (ClipSecond, ClipEmotionSecond):
        result = session.execute(text(_rebuild_statement(model)), {"ad_id": ad_id})
        written += result.rowcount  # type: ignore[attr-defined]
    bump_aggregate_version(session, ad_id)
    return written
