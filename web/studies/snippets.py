"""Embed snippets a designer copies into a survey: a link, an iframe and a script tag."""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from web.studies.models import Integration, IntegrationKind

RECORDER_SCRIPT_PATH = "/recorder/candor-recorder.js"


@dataclass(frozen=True)
class Placeholders:
    """How a survey platform writes its respondent id, a variable and its language in a URL."""

    respondent_id: str
    variable: str  # format string with {name}
    locale: str | None


_PLACEHOLDERS = {
    # Qualtrics piped text: the response id, embedded data fields, the survey language.
    IntegrationKind.QUALTRICS: Placeholders(
        "${e://Field/ResponseID}", "${{e://Field/{name}}}", "${e://Field/Q_Language}"
    ),
    # LimeSurvey expression manager: the saved response id, question codes, the language.
    IntegrationKind.LIMESURVEY: Placeholders("{SAVEDID}", "{{{name}}}", "{LANG}"),
}
_GENERIC = Placeholders("RESPONDENT_ID", "{upper}", None)

_RECOMMENDED = {
    IntegrationKind.GENERIC: "link",
    IntegrationKind.QUALTRICS: "iframe",
    IntegrationKind.LIMESURVEY: "iframe",
    IntegrationKind.SCRIPT: "script",
    IntegrationKind.IFRAME: "iframe",
}


@dataclass(frozen=True)
class Snippets:
    recommended: str
    link: str
    iframe: str
    script: str
    preview_url: str


def _placeholders(kind: IntegrationKind) -> Placeholders:
    return _PLACEHOLDERS.get(kind, _GENERIC)


def _variable(placeholders: Placeholders, name: str) -> str:
    return placeholders.variable.format(name=name, upper=name.upper())


def panelist_url(base_url: str, integration: Integration) -> str:
    """The recorder page URL with the survey's placeholders for id, variables and language."""
    marks = _placeholders(integration.kind)
    query = [("rid", marks.respondent_id)]
    query += [(name, _variable(marks, name)) for name in integration.passthrough_vars]
    if marks.locale:
        query.append(("locale", marks.locale))
    # Placeholders stay readable: the survey platform replaces them before the browser sees them.
    text = "&".join(f"{key}={value}" for key, value in query)
    return f"{base_url}/r/{quote(integration.public_key)}?{text}"


def embed_snippets(base_url: str, integration: Integration, preview_token: str) -> Snippets:
    base_url = base_url.rstrip("/")
    marks = _placeholders(integration.kind)
    link = panelist_url(base_url, integration)
    iframe = (
        f'<iframe src="{html.escape(link)}" allow="camera; autoplay; fullscreen" '
        'width="100%" height="720" style="border:0" title="Candor ad test"></iframe>'
    )
    attributes = [
        ("data-integration", integration.public_key),
        ("data-respondent-id", marks.respondent_id),
    ]
    if integration.passthrough_vars:
        # One attribute keeps variable names exact: HTML lower-cases attribute names.
        pairs = "&".join(f"{n}={_variable(marks, n)}" for n in integration.passthrough_vars)
        attributes.append(("data-vars", pairs))
    if marks.locale:
        attributes.append(("data-locale", marks.locale))
    attribute_text = "".join(f'\n  {k}="{html.escape(v)}"' for k, v in attributes)
    script = (
        f'<script type="module" src="{base_url}{RECORDER_SCRIPT_PATH}"{attribute_text}></script>'
    )
    return Snippets(
        recommended=_RECOMMENDED[integration.kind],
        link=link,
        iframe=iframe,
        script=script,
        preview_url=preview_url(integration, preview_token),
    )


def preview_url(integration: Integration, token: str) -> str:
    """Runs the panelist flow on the designer; a fresh id each time so runs never collide. The
    token (web/studies/signing.py preview_token) is what lets the panel API start a preview."""
    return (
        f"/r/{quote(integration.public_key)}?rid=preview-{secrets.token_hex(6)}&preview=1"
        f"&preview_token={quote(token)}"
    )
