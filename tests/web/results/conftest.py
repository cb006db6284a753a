"""A small world for results route tests: one organisation's study with two analysed ads."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from tests.support.factories import make_ad, make_study
from tests.web.results.seed import add_panelist
from web.accounts.auth import hash_password
from web.accounts.models import Membership, Organisation, Role, User
from web.settings import Settings
from web.studies.models import Ad, Study


@dataclass
class World:
    organisation: Organisation
    study: Study
    ad: Ad
    other_ad: Ad
    analyst: User
    outsider: User


def _curve(i: int, seconds: int, base: float) -> dict[str, list[float | None]]:
    return {
        "attention": [min(1.0, 0.6 + 0.03 * ((i + s) % 10)) for s in range(seconds)],
        "smile": [base + (0.4 if s == 5 else 0.0) + 0.01 * (i % 3) for s in range(seconds)],
        "brow_raise": [0.1 + 0.01 * (s % 4) for s in range(seconds)],
        "blinks": [float((i + s) % 3 == 0) for s in range(seconds)],
    }


@functools.cache
def _password_hash() -> str:
    return hash_password("correct horse battery")


def member(session: Session, email: str, role: Role, organisation: Organisation) -> User:
    """Like tests.support.auth.make_user, but argon2 runs once per test run, not per user."""
    user = User(email=email, name=email.split("@")[0], password_hash=_password_hash())
    session.add_all([organisation, user])
    session.flush()
    session.add(Membership(user_id=user.id, organisation_id=organisation.id, role=role))
    session.flush()
    return user


@pytest.fixture
def world(db_session: Session, settings: Settings) -> World:
    organisation = Organisation(name="Acme Research")
    db_session.add(organisation)
    study = make_study(db_session, organisation, name="Spring campaign")
    ad = make_ad(db_session, study, duration_s=8, title="Sunny day", poster_key="poster.jpg")
    other_ad = make_ad(db_session, study, duration_s=8, title="Rainy day")
    for i in range(12):
        add_panelist(db_session, ad, _curve(i, 8, 0.1), {"age": "18-24" if i < 6 else "25-34"})
        add_panelist(db_session, other_ad, _curve(i, 8, 0.2), {"age": "18-24"})
    settings.ads_dir.mkdir(parents=True, exist_ok=True)
    (settings.ads_dir / ad.storage_key).write_bytes(b"\x00" * 4096)
    (settings.ads_dir / "poster.jpg").write_bytes(b"\xff\xd8\xff\xe0jpeg")
    analyst = member(db_session, "ana@acme.example", Role.ANALYST, organisation)
    outsider = member(db_session, "olga@other.example", Role.OWNER, Organisation(name="Other"))
    return World(organisation, study, ad, other_ad, analyst, outsider)
