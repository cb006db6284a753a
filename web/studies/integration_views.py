"""Integration pages: settings, embed snippets, preview link, versioned consent texts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from web.accounts.auth import CurrentUserDep
from web.accounts.deps import LoggedInGuard
from web.accounts.models import Organisation
from web.deps import SessionDep, SettingsDep
from web.errors import NotFound
from web.forms import submit
from web.pages import read_form, redirect, render
from web.studies import emotion, fieldwork, recorder_strings, signing
from web.studies import integrations as integration_service
from web.studies.consent_defaults import DEFAULT_LOCALES, default_consent
from web.studies.deps import (
    IntegrationEditDep,
    IntegrationReadDep,
    StudyEditDep,
    can_edit,
    page_locale,
)
from web.studies.models import Integration, IntegrationKind, Study
from web.studies.schemas import ConsentIn, IntegrationIn, IntegrationUpdate, check_locale
from web.studies.snippets import embed_snippets

router = APIRouter(include_in_schema=False, dependencies=[LoggedInGuard])
members = router

KIND_LABELS = {
    IntegrationKind.GENERIC: "Generic link",
    IntegrationKind.QUALTRICS: "Qualtrics",
    IntegrationKind.LIMESURVEY: "LimeSurvey",
    IntegrationKind.SCRIPT: "Script tag on any page",
    IntegrationKind.IFRAME: "Iframe on any page",
}


def _integration_form(
    request: Request,
    session: Session,
    study: Study,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
    integration: Integration | None = None,
) -> Response:
    locales = (
        list(integration_service.current_consents(session=session, integration=integration))
        if integration
        else list(DEFAULT_LOCALES)
    )
    context = {
        "study": study,
        "organisation": session.get(Organisation, study.organisation_id),
        "integration": integration,
        "values": values,
        "errors": errors,
        "kinds": KIND_LABELS,
        "locales": locales,
    }
    return render(request, "studies/integration_form.html", context, status_code)


@members.get("/studies/{study_id}/integrations/new")
def new_integration_form(request: Request, study: StudyEditDep, session: SessionDep) -> Response:
    values = {"kind": IntegrationKind.GENERIC.value, "default_locale": "en", "name": "Survey link"}
    return _integration_form(request, session, study, values, {})


@members.post("/studies/{study_id}/integrations/new")
async def create_integration(
    request: Request, study: StudyEditDep, user: CurrentUserDep, session: SessionDep
) -> Response:
    values = await read_form(request)
    integration = submit(
        lambda: integration_service.create_integration(
            session=session, study=study, user=user, data=IntegrationIn.model_validate(values)
        ),
        lambda errors, status: _integration_form(request, session, study, values, errors, status),
        field="default_locale",
    )
    if isinstance(integration, Response):
        return integration
    return redirect(f"/studies/{study.id}/integrations/{integration.id}")


@members.get("/studies/{study_id}/integrations/{integration_id}")
def integration_page(
    request: Request,
    integration: IntegrationReadDep,
    user: CurrentUserDep,
    settings: SettingsDep,
    session: SessionDep,
) -> Response:
    study = integration.study
    consents = integration_service.current_consents(session=session, integration=integration)
    context = {
        "study": study,
        "organisation": session.get(Organisation, study.organisation_id),
        "integration": integration,
        "kind_label": KIND_LABELS[integration.kind],
        "snippets": embed_snippets(
            settings.base_url, integration, signing.preview_token(settings, integration.public_key)
        ),
        "consents": consents,
        # On-device studies: the server-mode text asked again with (editable, versioned).
        "fallbacks": integration_service.fallback_consents(session=session, integration=integration)
        if study.on_device
        else {},
        "can_edit": can_edit(session, user, study.organisation_id),
        "has_ads": bool(study.ads),
        "gaps": emotion.integration_gaps(session=session, integration=integration)
        if study.emotion_mode
        else [],
        "emotion_template_locales": DEFAULT_LOCALES,
        "intake": fieldwork.intake(session, integration),
        "untranslated": recorder_strings.missing_translations(
            integration,
            list(integration_service.current_consents(session=session, integration=integration)),
        ),
        "built_in": recorder_strings.built_in,
    }
    return render(request, "studies/integration.html", context)


@members.post("/studies/{study_id}/integrations/{integration_id}/status")
async def set_integration_status(
    request: Request, integration: IntegrationEditDep, session: SessionDep
) -> Response:
    """Open, pause or close the integration to new panelists."""
    status = (await read_form(request)).get("status", "")
    fieldwork.set_status(session=session, integration=integration, status=status)
    return redirect(f"/studies/{integration.study_id}/integrations/{integration.id}")


@members.get("/studies/{study_id}/integrations/{integration_id}/edit")
def edit_integration_form(
    request: Request, integration: IntegrationEditDep, session: SessionDep
) -> Response:
    values = {
        "name": integration.name,
        "kind": integration.kind.value,
        "return_url_template": integration.return_url_template,
        "passthrough_vars": ", ".join(integration.passthrough_vars),
        "default_locale": integration.default_locale,
    }
    return _integration_form(
        request, session, integration.study, values, {}, integration=integration
    )


@members.post("/studies/{study_id}/integrations/{integration_id}/edit")
async def edit_integration(
    request: Request, integration: IntegrationEditDep, session: SessionDep
) -> Response:
    values = await read_form(request)
    refused = submit(
        lambda: integration_service.update_integration(
            session=session, integration=integration, data=IntegrationUpdate.model_validate(values)
        ),
        lambda errors, status: _integration_form(
            request, session, integration.study, values, errors, status, integration
        ),
        field="default_locale",
    )
    if isinstance(refused, Response):
        return refused
    return redirect(f"/studies/{integration.study_id}/integrations/{integration.id}")


@members.get("/studies/{study_id}/integrations/{integration_id}/consent")
def add_language(integration: IntegrationEditDep, locale: str = "") -> Response:
    """The 'add a language' form: go to the editor for the code typed in."""
    locale = locale.strip()
    base = f"/studies/{integration.study_id}/integrations/{integration.id}"
    try:
        check_locale(locale)
    except ValueError:
        return redirect(f"{base}?language_error=1#consent")
    return redirect(f"{base}/consent/{locale}")


def _consent_form(
    request: Request,
    session: Session,
    integration: Any,
    locale: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    from_template: bool = False,
) -> Response:
    current = integration_service.latest_consent(
        session=session, integration=integration, locale=locale
    )
    reference = None
    if current is None:
        reference = integration_service.latest_consent(
            session=session, integration=integration, locale=integration.default_locale
        )
    study = integration.study
    context = {
        "study": study,
        "organisation": session.get(Organisation, study.organisation_id),
        "integration": integration,
        "locale": locale,
        "current": current,
        "reference": reference,
        "values": values,
        "errors": errors,
        "has_template": locale in DEFAULT_LOCALES,
        "from_template": from_template,
    }
    return render(request, "studies/consent_edit.html", context, status_code)


@members.get("/studies/{study_id}/integrations/{integration_id}/consent/{locale}")
def consent_form(
    request: Request,
    integration: IntegrationEditDep,
    locale: str,
    user: CurrentUserDep,
    session: SessionDep,
    template: str = "",
) -> Response:
    """The editor, prefilled with the current version, or (?template=emotion) with Candor's
    default text that discloses emotion inference."""
    locale = page_locale(locale)
    if template == "emotion" and locale in DEFAULT_LOCALES:
        organisation = session.get(Organisation, integration.study.organisation_id)
        texts = default_consent(
            locale,
            organisation=organisation.name if organisation else "the study team",
            contact=user.email,
            emotions=True,
        )
        values: dict[str, Any] = {
            "consent_text": texts.consent_text,
            "instructions": texts.instructions,
            "discloses_emotion": texts.discloses_emotion,
        }
        return _consent_form(request, session, integration, locale, values, {}, from_template=True)
    if template:
        raise NotFound(f"No template {template!r} in {locale!r}")
    current = integration_service.latest_consent(
        session=session, integration=integration, locale=locale
    )
    values = (
        {
            "consent_text": current.consent_text,
            "instructions": current.instructions,
            "discloses_emotion": current.discloses_emotion,
            "on_device": current.on_device,
        }
        if current
        else {}
    )
    return _consent_form(request, session, integration, locale, values, {})


@members.post("/studies/{study_id}/integrations/{integration_id}/consent/{locale}")
async def save_consent(
    request: Request,
    integration: IntegrationEditDep,
    locale: str,
    user: CurrentUserDep,
    session: SessionDep,
) -> Response:
    locale = page_locale(locale)
    values = await read_form(request)
    values.setdefault("discloses_emotion", "")  # an unticked checkbox sends nothing
    values.setdefault("on_device", "")
    refused = submit(
        lambda: integration_service.new_consent_version(
            session=session,
            integration=integration,
            locale=locale,
            data=ConsentIn.model_validate(values),
            user=user,
        ),
        lambda errors, status: _consent_form(
            request, session, integration, locale, values, errors, status
        ),
    )
    if isinstance(refused, Response):
        return refused
    return redirect(
        f"/studies/{integration.study_id}/integrations/{integration.id}/consent/{locale}/versions"
    )


@members.get("/studies/{study_id}/integrations/{integration_id}/consent/{locale}/versions")
def consent_versions(
    request: Request, integration: IntegrationReadDep, locale: str, session: SessionDep
) -> Response:
    locale = page_locale(locale)
    versions = integration_service.consent_versions(
        session=session, integration=integration, locale=locale
    )
    if not versions:
        raise NotFound(f"No consent text in {locale!r} yet")
    study = integration.study
    context = {
        "study": study,
        "organisation": session.get(Organisation, study.organisation_id),
        "integration": integration,
        "locale": locale,
        "versions": versions,
    }
    return render(request, "studies/consent_versions.html", context)
