"""The page where a designer translates the recorder's interface for one consent locale."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from web.accounts.deps import LoggedInGuard
from web.accounts.models import Organisation
from web.deps import SessionDep
from web.forms import submit
from web.pages import read_form, redirect, render
from web.studies import recorder_strings
from web.studies.deps import IntegrationEditDep, page_locale

router = APIRouter(include_in_schema=False, dependencies=[LoggedInGuard])
FIELD_PREFIX = "s:"
PATH = "/studies/{study_id}/integrations/{integration_id}/recorder-text/{locale}"


def _page(
    request: Request,
    session: SessionDep,
    integration: IntegrationEditDep,
    locale: str,
    error: str = "",
    status_code: int = 200,
) -> Response:
    context = {
        "study": integration.study,
        "organisation": session.get(Organisation, integration.study.organisation_id),
        "integration": integration,
        "locale": locale,
        "saved": (integration.recorder_strings or {}).get(locale, {}),
        "built_in": recorder_strings.built_in(locale),
        "error": error,
    }
    return render(request, "studies/recorder_strings.html", context, status_code)


@router.get(PATH)
def strings_form(
    request: Request, integration: IntegrationEditDep, session: SessionDep, locale: str
) -> Response:
    return _page(request, session, integration, page_locale(locale))


@router.post(PATH)
async def save_strings(
    request: Request, integration: IntegrationEditDep, session: SessionDep, locale: str
) -> Response:
    locale = page_locale(locale)
    values = await read_form(request)
    texts = {
        k.removeprefix(FIELD_PREFIX): v for k, v in values.items() if k.startswith(FIELD_PREFIX)
    }
    refused = submit(
        lambda: recorder_strings.save(
            session=session, integration=integration, locale=locale, texts=texts
        ),
        lambda errors, status: _page(request, session, integration, locale, errors["form"], status),
    )
    if isinstance(refused, Response):
        return refused
    return redirect(f"/studies/{integration.study_id}/integrations/{integration.id}#consent")
