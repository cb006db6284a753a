"""Studies and their ads. Services take a keyword-only session and own the commit."""

from __future__ import annotations

import secrets

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from candor.statuses import ConsentDecision
from web.accounts.models import User
from web.ad_store import ad_store
from web.clips.models import Clip, ConsentRecord, PanelSession
from web.db import utcnow
from web.errors import Conflict, Invalid
from web.settings import Settings
from web.studies import thumbnails
from web.studies.media import VideoInfo
from web.studies.models import Ad, Study
from web.studies.schemas import StudyIn, StudyUpdate
from web.studies.upload import ReceivedFile


def create_study(*, session: Session, organisation_id: int, user: User, data: StudyIn) -> Study:
    """A new study; the schema has already refused it without the attestation."""
    study = Study(
        organisation_id=organisation_id,
        name=data.name,
        ad_order=data.ad_order,
        attested_not_employees_or_students=data.attest_not_employees_or_students,
        attested_by_id=user.id,
        attested_at=utcnow(),
        emotion_mode=data.emotion_mode,
        on_device=data.on_device,
        on_device_fallback=data.on_device_fallback,
    )
    session.add(study)
    session.commit()
    return study


def list_studies(*, session: Session, organisation_id: int) -> list[Study]:
    return list(
        session.scalars(
            select(Study)
            .where(Study.organisation_id == organisation_id)
            .order_by(Study.created_at.desc(), Study.id.desc())
        )
    )


def update_study(*, session: Session, settings: Settings, study: Study, data: StudyUpdate) -> Study:
    if data.min_cell_size is not None and data.min_cell_size < settings.min_cell_size:
        raise Invalid(
            f"the smallest segment shown cannot go below {settings.min_cell_size} panelists",
            field="min_cell_size",
        )
    if data.emotion_mode is not None:
        check_emotion_switch(session=session, study=study, emotion_mode=data.emotion_mode)
    if data.on_device is not None:
        check_on_device_switch(session=session, study=study, on_device=data.on_device)
    check_modes(
        emotion_mode=study.emotion_mode if data.emotion_mode is None else data.emotion_mode,
        on_device=study.on_device if data.on_device is None else data.on_device,
    )
    for name, value in data.model_dump(exclude_none=True).items():
        setattr(study, name, value)
    session.commit()
    return study


def add_ad(
    *,
    session: Session,
    settings: Settings,
    study: Study,
    title: str,
    upload: ReceivedFile,
    info: VideoInfo,
) -> Ad:
    """Move a checked upload into place, write its poster and record the ad at the end."""
    duplicate = session.scalar(
        select(Ad).where(Ad.study_id == study.id, Ad.sha256 == upload.sha256)
    )
    if duplicate is not None:
        raise Conflict(
            f"This file is already in the study as “{duplicate.title}”.", code="duplicate_ad"
        )
    key = secrets.token_hex(16)
    ad = Ad(
        study_id=study.id,
        title=title,
        position=max((a.position for a in study.ads), default=-1) + 1,
        storage_key=f"{study.id}/{key}.{info.extension}",
        poster_key=f"{study.id}/{key}.jpg",
        content_type=info.content_type,
        bytes=upload.bytes,
        sha256=upload.sha256,
        duration_s=info.duration_s,
        width=info.width,
        height=info.height,
    )
    store = ad_store(settings)
    store.put_file(ad.storage_key, upload.path)
    written = [ad.storage_key]
    try:
        assert ad.poster_key is not None
        store.put_bytes(ad.poster_key, info.poster_jpeg)
        written.append(ad.poster_key)
        session.add(ad)
        session.commit()
    except BaseException:
        # No row, no file: a failed save leaves nothing behind.
        session.rollback()
        store.remove(written, [])
        raise
    session.refresh(study)
    return ad


def rename_ad(*, session: Session, ad: Ad, title: str) -> Ad:
    ad.title = title
    session.commit()
    return ad


def reorder_ads(*, session: Session, study: Study, ad_ids: list[int]) -> list[Ad]:
    """Put the study's ads in the given order; every ad must be named exactly once."""
    by_id = {ad.id: ad for ad in study.ads}
    if sorted(ad_ids) != sorted(by_id):
        raise Invalid("list every ad of the study exactly once")
    for position, ad_id in enumerate(ad_ids):
        by_id[ad_id].position = position
    session.commit()
    session.refresh(study)
    return list(study.ads)


def move_ad(*, session: Session, study: Study, ad: Ad, offset: int) -> None:
    """Swap an ad with its neighbour before (-1) or after (+1); at either end, nothing moves."""
    ads = list(study.ads)
    index = ads.index(ad)
    target = index + offset
    if 0 <= target < len(ads):
        ads[index], ads[target] = ads[target], ads[index]
        reorder_ads(session=session, study=study, ad_ids=[a.id for a in ads])


def recordings_by_ad(session: Session, study: Study) -> dict[int, int]:
    """How many clips were recorded of each ad of the study (an ad with any cannot be deleted)."""
    return dict(
        session.execute(
            select(Clip.ad_id, func.count())
            .where(Clip.ad_id.in_([ad.id for ad in study.ads]))
            .group_by(Clip.ad_id)
        ).all()
    )


def delete_ad(*, session: Session, settings: Settings, ad: Ad) -> None:
    """Delete an ad and its files; refused once panelists have been recorded watching it."""
    if session.scalar(select(exists().where(Clip.ad_id == ad.id))):
        raise Conflict(
            "panelists have already watched this ad; it stays so that its results stay whole",
            code="ad_watched",
        )
    files = [key for key in (ad.storage_key, ad.poster_key) if key]
    pictures = thumbnails.frames_prefix(ad)
    study = ad.study
    session.delete(ad)
    session.commit()
    # Files go after the commit: a stray file is harmless, a row without its file is not.
    ad_store(settings).remove(files, [pictures])
    session.refresh(study)
    remaining = list(study.ads)
    for position, remaining_ad in enumerate(remaining):
        remaining_ad.position = position
    session.commit()


def has_consented_panelists(*, session: Session, study: Study) -> bool:
    """True once a panelist (not a designer's preview) has agreed to take part in the study."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    ConsentRecord.session_id == PanelSession.id,
                    ConsentRecord.decision == ConsentDecision.AGREE,
                    PanelSession.study_id == study.id,
                    PanelSession.is_preview.is_(False),
                )
            )
        )
    )


def check_modes(*, emotion_mode: bool, on_device: bool) -> None:
    """Emotion mode reads the face's pixels on the server: it cannot run on the device."""
    if emotion_mode and on_device:
        raise Invalid(
            "emotion mode needs the video on the server; a study analysed on the panelist's "
            "device cannot infer emotions",
            field="on_device",
        )


def _check_fixed_switch(
    *, session: Session, study: Study, field: str, wanted: bool, refusal: str
) -> None:
    """Refuse to switch a mode (``field``) the panelists consented under: ``refusal`` says why,
    with ``{state}`` the mode's current state."""
    if wanted == getattr(study, field):
        return
    # Waits for consents in progress (they hold the row shared) and holds off new ones.
    session.refresh(study, with_for_update=True)
    if wanted == getattr(study, field):
        return
    if has_consented_panelists(session=session, study=study):
        state = "on" if getattr(study, field) else "off"
        raise Conflict(refusal.format(state=state), code="mode_fixed", field=field)


def check_on_device_switch(*, session: Session, study: Study, on_device: bool) -> None:
    """Refuse to switch on-device mode once panelists have consented under the current one: they
    were told where their video goes."""
    _check_fixed_switch(
        session=session,
        study=study,
        field="on_device",
        wanted=on_device,
        refusal="on-device analysis stays {state}: panelists have already agreed to take part "
        "under it, and were told where their video goes; create a new study to field it "
        "the other way",
    )


def check_emotion_switch(*, session: Session, study: Study, emotion_mode: bool) -> None:
    """Refuse to switch emotion mode once panelists have consented under the current one."""
    _check_fixed_switch(
        session=session,
        study=study,
        field="emotion_mode",
        wanted=emotion_mode,
        refusal="emotion mode stays {state}: panelists have already agreed to take part under "
        "it, and changing it would mix panelists who were told different things; "
        "create a new study to field it the other way",
    )
