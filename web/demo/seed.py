"""A demo organisation, owner login, study, generated ad and integration, so a first-time user has
something to try at once. Idempotent: running it again finds what it made before."""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from web.accounts.auth import hash_password
from web.accounts.models import Membership, Organisation, Role, User
from web.ad_store import ad_store
from web.db import utcnow
from web.settings import Settings
from web.studies.files import incoming_dir
from web.studies.models import Ad, AdOrder, ConsentText, Integration, IntegrationKind, Study

DEMO_EMAIL = "demo@candor.local"
DEMO_ORGANISATION = "Candor demo"
AD_KEY = "demo/candor-demo-ad.mp4"
POSTER_KEY = "demo/candor-demo-ad.jpg"
AD_SECONDS, AD_FPS, AD_WIDTH, AD_HEIGHT = 15, 25, 640, 360
CONSENT = {
    "en": (
        "This study films you with your webcam while a short ad plays, to measure where "
        "people look and how their faces react, second by second. The video is analysed "
        "automatically and deleted right after; only the curves are kept, without your name. "
        "You can stop and delete your recording at any time. Do you agree to be filmed?",
        "Sit facing the screen in good light, with only your face in view.",
    ),
    "fr": (
        "Cette étude vous filme avec votre webcam pendant la diffusion d'une courte publicité, "
        "pour mesurer seconde par seconde l'attention et les expressions du visage. La vidéo est "
        "analysée automatiquement puis supprimée aussitôt ; seules les courbes sont gardées, "
        "sans votre nom. Vous pouvez arrêter et supprimer votre enregistrement à tout moment. "
        "Acceptez-vous d'être filmé·e ?",
        "Placez-vous face à l'écran, bien éclairé·e, seul·e dans le champ de la caméra.",
    ),
}


@dataclass
class Demo:
    email: str
    password: str | None  # None if it was set at an earlier start and its note is gone
    integration_key: str
    study_id: int


def render_demo_ad(path: Path, poster: Path) -> tuple[int, str]:
    """Write a 15 s H.264 MP4 of moving colour and text, and a poster frame; return size, sha."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".partial.mp4")
    poster_frame = None
    with av.open(str(temp), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=AD_FPS)
        stream.width, stream.height, stream.pix_fmt = AD_WIDTH, AD_HEIGHT, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "28"}
        for index in range(AD_SECONDS * AD_FPS):
            frame = _ad_frame(index)
            if index == AD_FPS:
                poster_frame = frame
            video_frame = av.VideoFrame.from_ndarray(frame, format="bgr24")
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(temp, path)
    assert poster_frame is not None
    ok, jpeg = cv2.imencode(".jpg", poster_frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise RuntimeError("could not encode the demo poster")
    poster.write_bytes(jpeg.tobytes())
    data = path.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def _ad_frame(index: int) -> np.ndarray:  # type: ignore[type-arg]
    """One frame: a hue that drifts, a bouncing ball, a title and the seconds left."""
    t = index / AD_FPS
    hue = int((t * 12) % 180)
    hsv = np.full((AD_HEIGHT, AD_WIDTH, 3), (hue, 120, 200), np.uint8)
    frame = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    x = int(AD_WIDTH / 2 + 220 * math.sin(t * 1.3))
    y = int(AD_HEIGHT / 2 + 90 * abs(math.sin(t * 2.1)) - 20)
    cv2.circle(frame, (x, y), 36, (255, 255, 255), -1)
    title = "Candor demo ad" if t < 10 else "Thanks for watching"
    cv2.putText(frame, title, (40, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (20, 20, 20), 3)
    cv2.putText(
        frame, f"{AD_SECONDS - int(t)} s", (40, 320), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 20), 2
    )
    return frame


def _password_note(settings: Settings) -> Path:
    return settings.data_dir / "demo-login.txt"


def seed_demo(session: Session, settings: Settings) -> Demo:
    """Create (or find) the demo organisation, its owner, study, ad and integration."""
    user = session.scalar(select(User).where(User.email == DEMO_EMAIL))
    password = None
    note = _password_note(settings)
    if user is None:
        password = secrets.token_urlsafe(12)
        user = User(email=DEMO_EMAIL, name="Demo owner", password_hash=hash_password(password))
        organisation = Organisation(name=DEMO_ORGANISATION)
        session.add_all([user, organisation])
        session.flush()
        session.add(Membership(user_id=user.id, organisation_id=organisation.id, role=Role.OWNER))
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(f"{DEMO_EMAIL}\n{password}\n")
        note.chmod(0o600)
    elif note.exists():
        password = note.read_text().splitlines()[1]
    membership = session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership is not None
    study = session.scalar(
        select(Study).where(
            Study.organisation_id == membership.organisation_id, Study.name == "Demo study"
        )
    )
    if study is None:
        study = Study(
            organisation_id=membership.organisation_id,
            name="Demo study",
            ad_order=AdOrder.FIXED,
            attested_not_employees_or_students=True,
            attested_by_id=user.id,
            attested_at=utcnow(),
        )
        session.add(study)
        session.flush()
    _ensure_ad(session, settings, study)
    integration = _ensure_integration(session, study)
    session.commit()
    return Demo(DEMO_EMAIL, password, integration.public_key, study.id)


def _ensure_ad(session: Session, settings: Settings, study: Study) -> None:
    store = ad_store(settings)
    ad = session.scalar(select(Ad).where(Ad.storage_key == AD_KEY))
    if ad is not None and store.size(AD_KEY) is not None and store.size(POSTER_KEY) is not None:
        return
    with tempfile.TemporaryDirectory(dir=incoming_dir(settings)) as work:
        video, poster = Path(work) / AD_KEY, Path(work) / POSTER_KEY
        size, sha256 = render_demo_ad(video, poster)
        store.put_file(AD_KEY, video)
        store.put_file(POSTER_KEY, poster)
    if ad is None:
        ad = Ad(study_id=study.id, title="Candor demo ad (15 s)", position=0, storage_key=AD_KEY)
        session.add(ad)
    ad.poster_key, ad.content_type, ad.bytes, ad.sha256 = POSTER_KEY, "video/mp4", size, sha256
    ad.duration_s, ad.width, ad.height = float(AD_SECONDS), AD_WIDTH, AD_HEIGHT
    session.flush()


def _ensure_integration(session: Session, study: Study) -> Integration:
    integration = session.scalar(select(Integration).where(Integration.study_id == study.id))
    if integration is not None:
        return integration
    integration = Integration(
        study_id=study.id,
        name="Try it yourself",
        kind=IntegrationKind.GENERIC,
        public_key=f"demo-{secrets.token_urlsafe(12)}",
        return_url_template="",
        passthrough_vars=["age"],
        default_locale="en",
    )
    session.add(integration)
    session.flush()
    for locale, (text, instructions) in CONSENT.items():
        session.add(
            ConsentText(
                integration_id=integration.id,
                locale=locale,
                version=1,
                consent_text=text,
                instructions=instructions,
                sha256=hashlib.sha256(text.encode()).hexdigest(),
            )
        )
    session.flush()
    return integration
