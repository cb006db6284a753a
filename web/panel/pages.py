"""The recorder page `/r/{public_key}` and the recorder's ES module files under `/recorder/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from web.deps import SessionDep
from web.panel.locales import is_language_tag, locale_candidates, primary_language
from web.studies.models import Integration

WEB_DIR = Path(__file__).resolve().parent.parent
RECORDER_JS_DIR = WEB_DIR.parent / "recorder_js" / "src"
# Query parameters the page itself reads; every other one may be a passthrough variable.
RESERVED_PARAMS = frozenset({"rid", "locale", "preview"})
# A signed respondent id and a designer's preview token: carried to the recorder as
# pass-through values, which the panel API reads as proof and never stores.
PROOF_PARAMS = ("exp", "sig", "preview_token")
# Only what the page shows before its module loads (or when scripts are off).
PAGE_TEXT = {
    "en": {"title": "Survey recording", "noscript": "This step needs JavaScript to be enabled."},
    "fr": {
        "title": "Enregistrement du questionnaire",
        "noscript": "Cette étape nécessite JavaScript.",
    },
}

templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)


class RecorderModuleFiles(StaticFiles):
    """The recorder's ES modules, loadable by a `<script type="module">` on any origin.

    Module scripts are fetched in CORS mode, so a survey page on another origin can load them
    only with Access-Control-Allow-Origin. They are public code; no credentials are involved.
    """

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Access-Control-Allow-Origin"] = "*"
        # Revalidate each time: a recorder fix must reach panelists without waiting for caches.
        response.headers["Cache-Control"] = "no-cache"
        return response


def recorder_module_files() -> RecorderModuleFiles:
    return RecorderModuleFiles(directory=RECORDER_JS_DIR)


def page_locale(wanted: str | None, default: str) -> str:
    """The page's own language: the tag's language if the page speaks it, else the default's."""
    for candidate in locale_candidates(wanted, default):
        base = primary_language(candidate)
        if base in PAGE_TEXT:
            return base
    return "en"


@router.get("/r/{public_key}", response_class=HTMLResponse, name="recorder_page")
def recorder_page(
    request: Request,
    session: SessionDep,
    public_key: Annotated[str, PathParam(max_length=64)],
    rid: Annotated[str | None, Query(max_length=200)] = None,
    locale: Annotated[str | None, Query(max_length=200)] = None,
    preview: bool = False,
) -> Response:
    """A minimal page that loads the recorder: standalone link, or the src of a survey iframe."""
    # The same tags as the panel API accept. A malformed one (a survey variable piped wrong) is
    # dropped rather than refused: the panelist would see an error page inside their survey;
    # without it the page, and the recorder, fall back to the integration's default language.
    if locale is not None and not is_language_tag(locale):
        locale = None
    integration = session.scalar(select(Integration).where(Integration.public_key == public_key))
    lang = page_locale(locale, integration.default_locale if integration else "en")
    headers = {
        # The URL holds the respondent id: never cache it, never send it to another origin.
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",
    }
    if integration is None:
        return templates.TemplateResponse(
            request,
            "panel/recorder_missing.html",
            {"lang": lang},
            status_code=404,
            headers=headers,
        )
    declared = set(integration.passthrough_vars)
    passthrough = {
        name: value
        for name, value in request.query_params.items()
        if name in declared and name not in RESERVED_PARAMS
    }
    for name in PROOF_PARAMS:
        value = request.query_params.get(name)
        if value:
            passthrough[name] = value[:500]
    context = {
        "lang": lang,
        "text": PAGE_TEXT[lang],
        "public_key": public_key,
        "respondent_id": rid or "",
        "locale": locale or "",
        "passthrough": json.dumps(passthrough, ensure_ascii=False),
        # The integration page's "preview on yourself" link: the recorder marks the session.
        "preview": preview,
    }
    return templates.TemplateResponse(request, "panel/recorder.html", context, headers=headers)
