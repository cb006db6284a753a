"""Helpers for the browser tests: waiting, reading the server's records, poking the recorder."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from candor.statuses import ClipStatus, ConsentDecision
from web.clips.models import Clip, ClipSecond, ConsentRecord, DeletionAudit, PanelSession

FINAL = (ClipStatus.DONE, ClipStatus.FAILED)


@dataclass
class LiveCandor:
    """A Candor web process and worker on this machine, sharing the test database and Redis."""

    base_url: str
    data_dir: Path
    engine: Engine
    logs: Path
    task_queue: str = ""  # the worker's queue: what a test's own job run sends clips to

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(
            f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            for path in sorted(self.logs.glob("*.log"))
        )


@dataclass
class HostServer:
    """A survey-like site on another origin (localhost vs 127.0.0.1): pages and a return URL."""

    base_url: str
    pages: dict[str, str] = field(default_factory=dict)
    returns: list[str] = field(default_factory=list)


@dataclass
class Fielded:
    """A study with ads on disk and an integration whose return URL points at the host site."""

    public_key: str
    ad_ids: list[int]
    organisation_id: int
    integration_id: int


# Counts getUserMedia calls and keeps every stream, so tests can see the camera go off.
CAMERA_PROBE = """
(() => {
  window.__camera = { calls: 0, streams: [] };
  const md = navigator.mediaDevices;
  if (!md) return;
  const original = md.getUserMedia.bind(md);
  md.getUserMedia = async (constraints) => {
    window.__camera.calls += 1;
    const stream = await original(constraints);
    window.__camera.streams.push(stream);
    return stream;
  };
})();
"""
LIVE_TRACKS = (
    "() => window.__camera.streams.flatMap((s) => s.getTracks())"
    ".filter((t) => t.readyState === 'live').length"
)


def wait_for(predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def recorder_url(live: LiveCandor, fielded: Fielded, **params: str) -> str:
    query = urlencode({"rid": "R_42", "age": "25-34", **params})
    return f"{live.base_url}/r/{fielded.public_key}?{query}"


# Every object store of the recorder's IndexedDB database: its rows, and the rows holding media
# bytes anywhere in them (a Blob, an ArrayBuffer or a typed array).
_BROWSER_STORAGE = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("candor-recorder");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const names = [...db.objectStoreNames];
    const found = {};
    if (!names.length) { db.close(); resolve(found); return; }
    const isMedia = (v) => v instanceof Blob || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
    const holds = (v) =>
      isMedia(v) || (v !== null && typeof v === "object" && Object.values(v).some(holds));
    const tx = db.transaction(names);
    for (const name of names) {
      const all = tx.objectStore(name).getAll();
      all.onsuccess = () => {
        found[name] = { rows: all.result.length, media: all.result.filter(holds).length };
      };
    }
    tx.oncomplete = () => { db.close(); resolve(found); };
  };
})"""


def browser_storage(page: Any) -> dict[str, dict[str, int]]:
    """What the recorder keeps in the browser's storage (IndexedDB), per object store: how many
    rows, and how many of them hold media bytes. No video outlives the page: that is never any."""
    return dict(page.evaluate(_BROWSER_STORAGE))


def no_video_stored(page: Any) -> dict[str, dict[str, int]]:
    """The browser's storage, checked to hold no video (no chunk store, no media bytes)."""
    stored = browser_storage(page)
    assert "chunks" not in stored, stored
    assert all(store["media"] == 0 for store in stored.values()), stored
    return stored


def recorder_value(page: Any, expression: str) -> Any:
    """Evaluate an expression on the mounted recorder, named `r`."""
    script = (
        "() => { const r = document.querySelector('#candor-recorder').candorRecorder; "
        f"return {expression}; }}"
    )
    return page.evaluate(script)


def panel_session(live: LiveCandor, fielded: Fielded) -> PanelSession:
    with live.session() as session:
        found = session.scalars(
            select(PanelSession).where(PanelSession.integration_id == fielded.integration_id)
        ).all()
        assert len(found) == 1, found
        return found[0]


def clips_of(live: LiveCandor, session_id: int) -> list[Clip]:
    with live.session() as session:
        return list(session.scalars(select(Clip).where(Clip.session_id == session_id)).all())


def consent_decisions(live: LiveCandor, session_id: int) -> list[str]:
    with live.session() as session:
        records = session.scalars(
            select(ConsentRecord).where(ConsentRecord.session_id == session_id)
        ).all()
        return [record.decision.value for record in records]


def decline_reasons(live: LiveCandor, session_id: int) -> list[str | None]:
    with live.session() as session:
        return list(
            session.scalars(
                select(ConsentRecord.decline_reason)
                .where(
                    ConsentRecord.session_id == session_id,
                    ConsentRecord.decision == ConsentDecision.DECLINE,
                )
                .order_by(ConsentRecord.id)
            )
        )


def count_rows(
    live: LiveCandor, model: type[ClipSecond] | type[DeletionAudit], clip_id: int
) -> int:
    with live.session() as session:
        return int(
            session.scalar(select(func.count()).select_from(model).where(model.clip_id == clip_id))
            or 0
        )


def wait_analysed(live: LiveCandor, session_id: int, expected: int) -> list[Clip]:
    def analysed() -> list[Clip]:
        found = clips_of(live, session_id)
        done = len(found) == expected and all(c.status in FINAL for c in found)
        return found if done else []

    return list(wait_for(analysed, what=f"the worker to analyse {expected} clips"))


def video_files(live: LiveCandor, of: list[str] | None = None) -> list[Path]:
    """Video files on disk; `of`: only those of these clip public ids (another test's clip left
    to the server's left rule, which no beat runs here, may still be on disk)."""
    clips = live.data_dir / "clips"
    found = [p for p in clips.rglob("*") if p.is_file()] if clips.exists() else []
    return [p for p in found if any(c in str(p) for c in of)] if of is not None else found


def pass_preflight(page: Any, check: str = "Check", start: str = "Start") -> None:
    """Run the camera check as a panelist would, checking again if a look fails (the fake
    webcam's looped clip can be caught mid-blink or mid-cut on a slow machine), then start."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    button = page.get_by_role("button", name=start)
    for _ in range(3):
        page.get_by_role("button", name=check).click()
        try:
            button.wait_for(timeout=8000)
            break
        except PlaywrightTimeout:  # the check said no: look again
            continue
    button.click(timeout=15000)
