"""Study pages: the organisation's studies, one study with its ads, and the ad files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from web.accounts.auth import CurrentUserDep
from web.accounts.deps import EDIT_ROLES, LoggedInGuard, OrgEditorDep, OrgMemberDep
from web.accounts.models import Organisation, User
from web.ad_serving import serve
from web.clips.samples import remove_samples, sample_count
from web.deps import SessionDep, SettingsDep
from web.errors import Invalid
from web.forms import submit, submit_async
from web.pages import read_form, redirect, render
from web.studies import emotion, fieldwork, integrations, service
from web.studies.ad_upload import upload_ad
from web.studies.api import router as api_router
from web.studies.consent_defaults import DEFAULT_LOCALES
from web.studies.deps import AdEditDep, AdReadDep, StudyEditDep, StudyReadDep, can_edit
from web.studies.fallback_views import router as fallback_router
from web.studies.files import ad_poster_url, ad_video_url
from web.studies.integration_views import KIND_LABELS
from web.studies.integration_views import router as integration_router
from web.studies.models import AdOrder, Study
from web.studies.schemas import StudyIn, StudyUpdate
from web.studies.signing_views import router as signing_router
from web.studies.strings_views import router as strings_router

members = APIRouter(include_in_schema=False, dependencies=[LoggedInGuard])
# The upload streams its body, so it checks the CSRF token itself, field by field.
uploads = APIRouter(include_in_schema=False)


@members.get("/orgs/{org_id}")
def organisation_home(request: Request, me: OrgMemberDep, session: SessionDep) -> Response:
    studies = service.list_studies(session=session, organisation_id=me.organisation_id)
    return render(
        request,
        "studies/list.html",
        {
            "organisation": me.organisation,
            "me": me,
            "studies": studies,
            "can_edit": me.role in EDIT_ROLES,
        },
    )


@members.get("/orgs/{org_id}/studies/new")
def new_study_form(request: Request, me: OrgEditorDep) -> Response:
    return _study_form(request, me.organisation, {"ad_order": AdOrder.FIXED.value}, {})


def _study_form(
    request: Request,
    organisation: Organisation,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    context = {
        "organisation": organisation,
        "values": values,
        "errors": errors,
        "orders": list(AdOrder),
    }
    return render(request, "studies/new.html", context, status_code)


@members.post("/orgs/{org_id}/studies/new")
async def create_study(
    request: Request, me: OrgEditorDep, user: CurrentUserDep, session: SessionDep
) -> Response:
    values = await read_form(request)
    # Unticked checkboxes send nothing.
    values.setdefault("attest_not_employees_or_students", "")
    values.setdefault("emotion_mode", "")
    values.setdefault("on_device", "")
    study = submit(
        lambda: service.create_study(
            session=session,
            organisation_id=me.organisation_id,
            user=user,
            data=StudyIn.model_validate(values),
        ),
        lambda errors, status: _study_form(request, me.organisation, values, errors, status),
    )
    if isinstance(study, Response):
        return study
    return redirect(f"/studies/{study.id}")


def _study_page(
    request: Request,
    session: Session,
    user: User,
    study: Study,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    recordings = service.recordings_by_ad(session, study)
    context = {
        "study": study,
        "organisation": session.get(Organisation, study.organisation_id),
        "ads": [
            {
                "ad": ad,
                "video_url": ad_video_url(ad),
                "poster_url": ad_poster_url(ad),
                "recordings": recordings.get(ad.id, 0),
            }
            for ad in study.ads
        ],
        "integrations": study.integrations,
        "kind_labels": KIND_LABELS,
        "can_edit": can_edit(session, user, study.organisation_id),
        "errors": errors or {},
        "max_ad_bytes": request.app.state.settings.max_ad_bytes,
        "gaps": emotion.study_gaps(session=session, study=study),
        "emotion_template_locales": DEFAULT_LOCALES,
        "samples": sample_count(session, study.id),
        "fieldwork": fieldwork.fieldwork(session, study),
        "intakes": {i.id: fieldwork.intake(session, i) for i in study.integrations},
    }
    return render(request, "studies/detail.html", context, status_code)


@members.get("/studies/{study_id}")
def study_page(
    request: Request, study: StudyReadDep, user: CurrentUserDep, session: SessionDep
) -> Response:
    return _study_page(request, session, user, study)


def _edit_form(
    request: Request,
    session: Session,
    study: Study,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    context = {
        "study": study,
        "organisation": session.get(Organisation, study.organisation_id),
        "values": values,
        "errors": errors,
        "orders": list(AdOrder),
        "floor": request.app.state.settings.min_cell_size,
        "locked": service.has_consented_panelists(session=session, study=study),
    }
    return render(request, "studies/edit.html", context, status_code)


@members.get("/studies/{study_id}/edit")
def edit_study_form(request: Request, study: StudyEditDep, session: SessionDep) -> Response:
    values = {
        "name": study.name,
        "ad_order": study.ad_order.value,
        "min_cell_size": study.min_cell_size,
        "emotion_mode": study.emotion_mode,
        "on_device": study.on_device,
        "on_device_fallback": study.on_device_fallback.value,
    }
    return _edit_form(request, session, study, values, {})


@members.post("/studies/{study_id}/edit")
async def edit_study(
    request: Request,
    study: StudyEditDep,
    user: CurrentUserDep,
    settings: SettingsDep,
    session: SessionDep,
) -> Response:
    values = await read_form(request)
    values.setdefault("emotion_mode", "")  # an unticked checkbox sends nothing
    values.setdefault("on_device", "")
    given = {k: v for k, v in values.items() if v != "" or k != "min_cell_size"}
    refused = submit(
        lambda: service.update_study(
            session=session, settings=settings, study=study, data=StudyUpdate.model_validate(given)
        ),
        lambda errors, status: _edit_form(request, session, study, values, errors, status),
    )
    if isinstance(refused, Response):
        return refused
    integrations.add_study_fallback_texts(session=session, study=study, user=user)
    return redirect(f"/studies/{study.id}")


@uploads.post("/studies/{study_id}/ads")
async def upload_ad_page(
    request: Request,
    study: StudyEditDep,
    user: CurrentUserDep,
    settings: SettingsDep,
    session: SessionDep,
) -> Response:
    refused = await submit_async(
        lambda: upload_ad(request, settings=settings, session=session, study=study),
        lambda errors, status: _study_page(request, session, user, study, errors, status),
        field="upload",
    )
    if isinstance(refused, Response):
        return refused
    return redirect(f"/studies/{study.id}#ads")


@members.post("/studies/{study_id}/ads/{ad_id}/move")
async def move_ad(request: Request, ad: AdEditDep, session: SessionDep) -> Response:
    direction = (await read_form(request)).get("direction")
    if direction not in ("up", "down"):
        raise Invalid("direction must be up or down")
    service.move_ad(session=session, study=ad.study, ad=ad, offset=-1 if direction == "up" else 1)
    return redirect(f"/studies/{ad.study_id}#ads")


@members.post("/studies/{study_id}/ads/{ad_id}/delete")
def delete_ad(
    request: Request,
    ad: AdEditDep,
    user: CurrentUserDep,
    settings: SettingsDep,
    session: SessionDep,
) -> Response:
    study = ad.study
    refused = submit(
        lambda: service.delete_ad(session=session, settings=settings, ad=ad),
        lambda errors, status: _study_page(request, session, user, study, errors, status),
        field="ads",
    )
    if isinstance(refused, Response):
        return refused
    return redirect(f"/studies/{study.id}#ads")


@members.post("/studies/{study_id}/fieldwork")
async def set_fieldwork(
    request: Request, study: StudyEditDep, user: CurrentUserDep, session: SessionDep
) -> Response:
    """The target of usable panelists, and whether reaching it closes the study."""
    values = await read_form(request)
    refused = submit(
        lambda: fieldwork.set_target(
            session=session,
            study=study,
            target=_whole_number(values.get("target_usable", "")),
            close_at_target=values.get("close_at_target") == "on",
        ),
        lambda errors, status: _study_page(request, session, user, study, errors, status),
        field="fieldwork",
    )
    if isinstance(refused, Response):
        return refused
    return redirect(f"/studies/{study.id}#fieldwork")


def _whole_number(raw: str) -> int | None:
    raw = raw.strip()
    if raw and not raw.isdigit():
        raise Invalid("The target must be a whole number, such as 200.")
    return int(raw) if raw else None


@members.post("/studies/{study_id}/samples/delete")
def delete_samples(study: StudyEditDep, settings: SettingsDep, session: SessionDep) -> Response:
    """The demo's generated panelists, their curves and their share of the results, gone."""
    remove_samples(session=session, settings=settings, study_id=study.id)
    return redirect(f"/studies/{study.id}")


@members.get("/studies/{study_id}/ads/{ad_id}/video")
def ad_video(ad: AdReadDep, settings: SettingsDep, request: Request) -> Response:
    """The ad itself, with range requests so the player can seek."""
    return serve(settings, ad.storage_key, ad.content_type, request.headers.get("range"), _CACHE)


@members.get("/studies/{study_id}/ads/{ad_id}/poster")
def ad_poster(ad: AdReadDep, settings: SettingsDep, request: Request) -> Response:
    return serve(settings, ad.poster_key, "image/jpeg", request.headers.get("range"), _CACHE)


_CACHE = {"Cache-Control": "private, max-age=3600"}


router = APIRouter()
router.include_router(members)
router.include_router(uploads)
router.include_router(integration_router)
router.include_router(fallback_router)
router.include_router(signing_router)
router.include_router(strings_router)
router.include_router(api_router)
