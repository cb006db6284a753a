"""Integration page actions for signed respondent ids: make or rotate the signing secret (shown
once), retire the previous one, require signatures (web/studies/signing.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from web.accounts.deps import LoggedInGuard
from web.accounts.models import Organisation
from web.deps import SessionDep, SettingsDep
from web.pages import read_form, redirect, render
from web.studies import integrations as integration_service
from web.studies.deps import IntegrationEditDep
from web.studies.schemas import IntegrationUpdate

router = APIRouter(include_in_schema=False, dependencies=[LoggedInGuard])
BASE = "/studies/{study_id}/integrations/{integration_id}"


@router.post(f"{BASE}/signing-secret")
def rotate_secret(
    request: Request, integration: IntegrationEditDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """A new secret, shown on this answer only (never cached, never shown again)."""
    secret = integration_service.rotate_signing_secret(
        session=session, settings=settings, integration=integration
    )
    response = render(
        request,
        "studies/signing_secret.html",
        {
            "study": integration.study,
            "organisation": session.get(Organisation, integration.study.organisation_id),
            "integration": integration,
            "secret": secret,
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(f"{BASE}/signing-secret/retire")
def retire_previous(integration: IntegrationEditDep, session: SessionDep) -> Response:
    integration_service.retire_previous_signing_secret(session=session, integration=integration)
    return redirect(f"/studies/{integration.study_id}/integrations/{integration.id}#signing")


@router.post(f"{BASE}/signing-required")
async def require_signature(
    request: Request, integration: IntegrationEditDep, session: SessionDep
) -> Response:
    required = (await read_form(request)).get("required", "") == "1"
    integration_service.update_integration(
        session=session, integration=integration, data=IntegrationUpdate(require_signature=required)
    )
    return redirect(f"/studies/{integration.study_id}/integrations/{integration.id}#signing")
