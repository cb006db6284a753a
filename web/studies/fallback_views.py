"""The editor of an on-device study's server-mode fallback text: the text a panelist whose
browser cannot read the face is asked again with (web/studies/integrations.py
`new_fallback_version`; versioned like a consent text, never edited in place)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from web.accounts.auth import CurrentUserDep
from web.accounts.deps import LoggedInGuard
from web.accounts.models import Organisation
from web.deps import SessionDep
from web.errors import NotFound
from web.forms import submit
from web.pages import read_form, redirect, render
from web.studies import integrations as integration_service
from web.studies.deps import IntegrationEditDep, page_locale
from web.studies.schemas import ConsentIn

router = APIRouter(include_in_schema=False, dependencies=[LoggedInGuard])
members = router


def _fallback_form(
    request: Request,
    session: Session,
    integration: Any,
    locale: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    versions = integration_service.consent_versions(
        session=session,
        integration=integration,
        locale=locale,
        fallback=True,
    )
    study = integration.study
    context = {
        "study": study,
        "organisation": session.get(Organisation, study.organisation_id),
        "integration": integration,
        "locale": locale,
        "current": versions[0] if versions else None,
        "reference": None,
        "values": values,
        "errors": errors,
        "has_template": False,
        "from_template": False,
        "fallback": True,
    }
    return render(request, "studies/consent_edit.html", context, status_code)


@members.get("/studies/{study_id}/integrations/{integration_id}/fallback/{locale}")
def fallback_form(
    request: Request, integration: IntegrationEditDep, locale: str, session: SessionDep
) -> Response:
    """The editor of an on-device study's server-mode fallback text, prefilled with its
    current version."""
    locale = page_locale(locale)
    if not integration.study.on_device:
        raise NotFound("This study is not analysed on the device: it has no fallback text")
    current = integration_service.fallback_consents(session=session, integration=integration).get(
        locale
    )
    values: dict[str, Any] = (
        {"consent_text": current.consent_text, "instructions": current.instructions}
        if current
        else {}
    )
    return _fallback_form(request, session, integration, locale, values, {})


@members.post("/studies/{study_id}/integrations/{integration_id}/fallback/{locale}")
async def save_fallback(
    request: Request,
    integration: IntegrationEditDep,
    locale: str,
    user: CurrentUserDep,
    session: SessionDep,
) -> Response:
    locale = page_locale(locale)
    values = await read_form(request)
    values.setdefault("discloses_emotion", "")
    values.setdefault("on_device", "")
    refused = submit(
        lambda: integration_service.new_fallback_version(
            session=session,
            integration=integration,
            locale=locale,
            data=ConsentIn.model_validate(values),
            user=user,
        ),
        lambda errors, status: _fallback_form(
            request, session, integration, locale, values, errors, status
        ),
    )
    if isinstance(refused, Response):
        return refused
    return redirect(f"/studies/{integration.study_id}/integrations/{integration.id}#fallback-texts")
