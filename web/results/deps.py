"""Authorisation of results routes, written once: any member of the owning organisation may
read; everyone else gets 404 so another organisation's objects are not even confirmed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from web.accounts.auth import CurrentUserDep, membership_for
from web.deps import SessionDep
from web.errors import Invalid, NotFound
from web.studies.models import Ad, Study


@dataclass(frozen=True)
class AdAccess:
    ad: Ad
    study: Study


def readable_study(study_id: int, user: CurrentUserDep, session: SessionDep) -> Study:
    study = session.get(Study, study_id)
    if study is None:
        raise NotFound("Not found")
    membership_for(session, user, study.organisation_id)
    return study


def readable_ad(ad_id: int, user: CurrentUserDep, session: SessionDep) -> AdAccess:
    ad = session.get(Ad, ad_id)
    study = session.get(Study, ad.study_id) if ad else None
    if ad is None or study is None:
        raise NotFound("Not found")
    membership_for(session, user, study.organisation_id)
    return AdAccess(ad, study)


def readable_ads(ad_ids: list[int], user: CurrentUserDep, session: SessionDep) -> list[AdAccess]:
    """Several ads of one organisation, in the order asked, duplicates dropped."""
    accesses = [readable_ad(ad_id, user, session) for ad_id in dict.fromkeys(ad_ids)]
    if len({a.study.organisation_id for a in accesses}) > 1:
        raise Invalid("Ads must belong to one organisation")
    return accesses


StudyDep = Annotated[Study, Depends(readable_study)]
AdDep = Annotated[AdAccess, Depends(readable_ad)]
