"""JSON API of the studies domain, under /api/v1 (cookie sessions, X-CSRF-Token on writes)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.exceptions import RequestValidationError

from web.accounts.auth import CurrentUserDep
from web.accounts.deps import LoggedInGuard, OrgEditorDep, OrgMemberDep
from web.deps import SessionDep, SettingsDep
from web.studies import emotion, service, signing
from web.studies import integrations as integration_service
from web.studies.ad_upload import upload_ad
from web.studies.deps import (
    AdEditDep,
    AdReadDep,
    IntegrationEditDep,
    IntegrationReadDep,
    StudyEditDep,
    StudyReadDep,
)
from web.studies.files import ad_poster_url, ad_video_url
from web.studies.models import Ad, Integration, Study
from web.studies.schemas import (
    AdOrderIn,
    AdOut,
    AdUpdate,
    ConsentIn,
    ConsentOut,
    DisclosureGapOut,
    EmotionModeOut,
    IntegrationIn,
    IntegrationOut,
    IntegrationUpdate,
    SigningSecretOut,
    SnippetsOut,
    StudyIn,
    StudyOut,
    StudyUpdate,
    check_locale,
)
from web.studies.snippets import embed_snippets

members = APIRouter(prefix="/api/v1", tags=["studies"], dependencies=[LoggedInGuard])
# The upload streams its body, so it checks the CSRF header itself.
uploads = APIRouter(prefix="/api/v1", tags=["studies"])


def study_out(study: Study) -> StudyOut:
    return StudyOut.model_validate(
        {**_columns(study), "results_url": f"/studies/{study.id}/results"}
    )


def ad_out(ad: Ad) -> AdOut:
    return AdOut.model_validate(
        {**_columns(ad), "video_url": ad_video_url(ad), "poster_url": ad_poster_url(ad)}
    )


def integration_out(integration: Integration, locales: list[str]) -> IntegrationOut:
    # The wrapped secrets are never answered: only whether they exist.
    return IntegrationOut.model_validate(
        {
            **_columns(integration),
            "locales": locales,
            "has_signing_secret": integration.signing_secret is not None,
            "rotation_in_progress": integration.previous_signing_secret is not None,
        }
    )


def _columns(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


@members.get("/orgs/{org_id}/studies")
def list_studies(me: OrgMemberDep, session: SessionDep) -> list[StudyOut]:
    """The organisation's studies (any member may read)."""
    return [
        study_out(s)
        for s in service.list_studies(session=session, organisation_id=me.organisation_id)
    ]


@members.post("/orgs/{org_id}/studies", status_code=status.HTTP_201_CREATED)
def create_study(
    data: StudyIn, me: OrgEditorDep, user: CurrentUserDep, session: SessionDep
) -> StudyOut:
    """Requires `attest_not_employees_or_students: true` (EU AI Act art. 5(1)(f))."""
    study = service.create_study(
        session=session, organisation_id=me.organisation_id, user=user, data=data
    )
    return study_out(study)


@members.get("/studies/{study_id}")
def get_study(study: StudyReadDep) -> StudyOut:
    """One study: its name, ad order, modes and attestation."""
    return study_out(study)


@members.patch("/studies/{study_id}")
def update_study(
    data: StudyUpdate,
    study: StudyEditDep,
    user: CurrentUserDep,
    settings: SettingsDep,
    session: SessionDep,
) -> StudyOut:
    """Change the fields given (designers and owners); emotion mode and on-device mode cannot
    be switched once panelists have consented under them (409)."""
    service.update_study(session=session, settings=settings, study=study, data=data)
    integration_service.add_study_fallback_texts(session=session, study=study, user=user)
    return study_out(study)


@members.get("/studies/{study_id}/emotion-mode")
def emotion_mode(study: StudyReadDep, session: SessionDep) -> EmotionModeOut:
    """Emotion mode, whether it can still be switched, and which consent texts block fielding.

    Switch it with `PATCH /studies/{id}` `{"emotion_mode": true}` (409 once a panelist has
    consented); mark a consent version with `discloses_emotion` when saving it.
    """
    gaps = emotion.study_gaps(session=session, study=study)
    return EmotionModeOut(
        emotion_mode=study.emotion_mode,
        can_switch=not service.has_consented_panelists(session=session, study=study),
        can_field=not gaps,
        gaps=[DisclosureGapOut(**asdict(gap), reason=gap.reason) for gap in gaps],
    )


@members.get("/studies/{study_id}/ads")
def list_ads(study: StudyReadDep) -> list[AdOut]:
    """The study's ads in their order, with duration, size and poster."""
    return [ad_out(ad) for ad in study.ads]


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "title": {"type": "string", "maxLength": 200},
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "mp4, webm or mov; checked by decoding it",
                        },
                    },
                }
            }
        },
    }
}


@uploads.post(
    "/studies/{study_id}/ads",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_UPLOAD_BODY,
    responses={400: {"description": "not a whole video"}, 413: {"description": "too large"}},
)
async def upload_ad_api(
    request: Request, study: StudyEditDep, settings: SettingsDep, session: SessionDep
) -> AdOut:
    """Upload an ad (streamed; size-capped by settings.max_ad_bytes)."""
    ad = await upload_ad(request, settings=settings, session=session, study=study)
    return ad_out(ad)


@members.put("/studies/{study_id}/ads/order")
def reorder_ads(data: AdOrderIn, study: StudyEditDep, session: SessionDep) -> list[AdOut]:
    """Put the ads in a new order (for a fixed order): every ad of the study exactly once."""
    ads = service.reorder_ads(session=session, study=study, ad_ids=data.ad_ids)
    return [ad_out(ad) for ad in ads]


@members.get("/studies/{study_id}/ads/{ad_id}")
def get_ad(ad: AdReadDep) -> AdOut:
    """One ad of the study."""
    return ad_out(ad)


@members.patch("/studies/{study_id}/ads/{ad_id}")
def rename_ad(data: AdUpdate, ad: AdEditDep, session: SessionDep) -> AdOut:
    """Change the ad's title (the file stays)."""
    return ad_out(service.rename_ad(session=session, ad=ad, title=data.title))


@members.delete("/studies/{study_id}/ads/{ad_id}", status_code=204)
def delete_ad(ad: AdEditDep, settings: SettingsDep, session: SessionDep) -> Response:
    """Deletes the ad and its files; 409 once panelists have been recorded watching it."""
    service.delete_ad(session=session, settings=settings, ad=ad)
    return Response(status_code=204)


def _integration_out(session: SessionDep, integration: Integration) -> IntegrationOut:
    locales = integration_service.current_consents(session=session, integration=integration)
    return integration_out(integration, list(locales))


@members.get("/studies/{study_id}/integrations")
def list_integrations(study: StudyReadDep, session: SessionDep) -> list[IntegrationOut]:
    """The ways the study is fielded (survey links, embeds), with their locales."""
    return [_integration_out(session, i) for i in study.integrations]


@members.post("/studies/{study_id}/integrations", status_code=status.HTTP_201_CREATED)
def create_integration(
    data: IntegrationIn, study: StudyEditDep, user: CurrentUserDep, session: SessionDep
) -> IntegrationOut:
    """Starts with default consent texts in English and French (version 1 of each)."""
    integration = integration_service.create_integration(
        session=session, study=study, user=user, data=data
    )
    return _integration_out(session, integration)


@members.get("/studies/{study_id}/integrations/{integration_id}")
def get_integration(integration: IntegrationReadDep, session: SessionDep) -> IntegrationOut:
    """One integration: its kind, return-URL template, pass-through variables and locale."""
    return _integration_out(session, integration)


@members.patch("/studies/{study_id}/integrations/{integration_id}")
def update_integration(
    data: IntegrationUpdate, integration: IntegrationEditDep, session: SessionDep
) -> IntegrationOut:
    """Change the fields given: a default locale needs a consent text in it (400), and
    `require_signature` a signing secret first (409)."""
    integration_service.update_integration(session=session, integration=integration, data=data)
    return _integration_out(session, integration)


@members.post(
    "/studies/{study_id}/integrations/{integration_id}/signing-secret",
    status_code=status.HTTP_201_CREATED,
)
def rotate_signing_secret(
    integration: IntegrationEditDep, session: SessionDep, settings: SettingsDep
) -> SigningSecretOut:
    """A new signing secret, shown once; the one before stays valid until retired."""
    secret = integration_service.rotate_signing_secret(
        session=session, settings=settings, integration=integration
    )
    return SigningSecretOut(
        secret=secret, previous_still_valid=integration.previous_signing_secret is not None
    )


@members.delete(
    "/studies/{study_id}/integrations/{integration_id}/signing-secret/previous",
    status_code=status.HTTP_204_NO_CONTENT,
)
def retire_previous_signing_secret(integration: IntegrationEditDep, session: SessionDep) -> None:
    """End a rotation: links signed with the previous secret are refused from now on."""
    integration_service.retire_previous_signing_secret(session=session, integration=integration)


@members.get("/studies/{study_id}/integrations/{integration_id}/snippets")
def get_snippets(integration: IntegrationReadDep, settings: SettingsDep) -> SnippetsOut:
    """Embed snippets to paste into the survey, and a preview link for the designer."""
    snippets = embed_snippets(
        settings.base_url, integration, signing.preview_token(settings, integration.public_key)
    )
    return SnippetsOut(**snippets.__dict__)


@members.get("/studies/{study_id}/integrations/{integration_id}/consent")
def current_consents(integration: IntegrationReadDep, session: SessionDep) -> dict[str, ConsentOut]:
    """The version panelists see now, per locale."""
    texts = integration_service.current_consents(session=session, integration=integration)
    return {locale: ConsentOut.model_validate(text) for locale, text in texts.items()}


def _locale(locale: str) -> str:
    try:
        return check_locale(locale)
    except ValueError as exc:
        # The shape of every other 422 (a list of errors), as the OpenAPI document says.
        error = {"type": "value_error", "loc": ("path", "locale"), "msg": str(exc), "input": locale}
        raise RequestValidationError([error]) from exc


@members.get("/studies/{study_id}/integrations/{integration_id}/consent/{locale}/versions")
def consent_versions(
    locale: str, integration: IntegrationReadDep, session: SessionDep
) -> list[ConsentOut]:
    """Every version in the locale, newest first; versions are never changed or deleted."""
    versions = integration_service.consent_versions(
        session=session, integration=integration, locale=_locale(locale)
    )
    return [ConsentOut.model_validate(v) for v in versions]


@members.post(
    "/studies/{study_id}/integrations/{integration_id}/consent/{locale}",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "text unchanged; the current version is returned"}},
)
def new_consent_version(
    locale: str,
    data: ConsentIn,
    response: Response,
    integration: IntegrationEditDep,
    user: CurrentUserDep,
    session: SessionDep,
) -> ConsentOut:
    """Save an edit as a new version (old versions stay, consent records point at them)."""
    before = integration_service.latest_consent(
        session=session, integration=integration, locale=_locale(locale)
    )
    text = integration_service.new_consent_version(
        session=session, integration=integration, locale=locale, data=data, user=user
    )
    if before is not None and text.id == before.id:
        response.status_code = status.HTTP_200_OK
    return ConsentOut.model_validate(text)


@members.get("/studies/{study_id}/integrations/{integration_id}/fallback-consent")
def current_fallback_consents(
    integration: IntegrationReadDep, session: SessionDep
) -> dict[str, ConsentOut]:
    """An on-device study's server-mode fallback text per locale (the version asked now)."""
    texts = integration_service.fallback_consents(session=session, integration=integration)
    return {locale: ConsentOut.model_validate(text) for locale, text in texts.items()}


@members.get("/studies/{study_id}/integrations/{integration_id}/fallback-consent/{locale}/versions")
def fallback_consent_versions(
    locale: str, integration: IntegrationReadDep, session: SessionDep
) -> list[ConsentOut]:
    """Every version of the fallback text in the locale, newest first; never changed."""
    versions = integration_service.consent_versions(
        session=session,
        integration=integration,
        locale=_locale(locale),
        fallback=True,
    )
    return [ConsentOut.model_validate(v) for v in versions]


@members.post(
    "/studies/{study_id}/integrations/{integration_id}/fallback-consent/{locale}",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "text unchanged; the current version is returned"}},
)
def new_fallback_consent_version(
    locale: str,
    data: ConsentIn,
    response: Response,
    integration: IntegrationEditDep,
    user: CurrentUserDep,
    session: SessionDep,
) -> ConsentOut:
    """Save an edit of the server-mode fallback text as a new version: the consent text's rules,
    and never marked `on_device` (400); 409 for a study not analysed on the device, 400 for a
    locale without a consent text."""
    locale = _locale(locale)
    before = integration_service.fallback_consents(session=session, integration=integration)
    text = integration_service.new_fallback_version(
        session=session, integration=integration, locale=locale, data=data, user=user
    )
    if locale in before and text.id == before[locale].id:
        response.status_code = status.HTTP_200_OK
    return ConsentOut.model_validate(text)


router = APIRouter()
router.include_router(members)
router.include_router(uploads)
