"""Candor's own documentation pages, rendered from the Markdown in docs/ so the text a link
points at is the text in the repository (every emotion label links to /help/emotions#joy etc.).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

from web.errors import NotFound
from web.pages import render

# In a checkout the pages are read from docs/; a wheel carries them under web/docs/.
SOURCES = (
    Path(__file__).resolve().parent.parent / "docs",
    Path(__file__).resolve().parent / "docs",
)
# The pages served, by URL name: only these files, never a path from the request.
PAGES = {"emotions": "emotions.md", "results": "results.md", "signals": "signals.md"}

router = APIRouter()


def slug(text: str) -> str:
    """A heading's anchor as GitHub makes it, so docs/x.md#joy and /help/x#joy agree."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def _heading_with_id(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("id", slug(tokens[idx + 1].content))
    rendered: str = self.renderToken(tokens, idx, options, env)
    return rendered


@functools.cache
def page_html(name: str) -> tuple[str, Markup]:
    """The page's title (its first heading) and its body as HTML; raw HTML in it is escaped."""
    filename = PAGES.get(name)
    path = next((d / filename for d in SOURCES if filename and (d / filename).is_file()), None)
    if path is None:
        raise LookupError(name)
    text = path.read_text(encoding="utf-8")
    md = MarkdownIt("commonmark", {"html": False})
    md.add_render_rule("heading_open", _heading_with_id)
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), name)
    return title, Markup(md.render(text))  # noqa: S704  (html=False: the source cannot inject)


@router.get("/help/{name}", response_class=HTMLResponse, include_in_schema=False)
def help_page(request: Request, name: str) -> HTMLResponse:
    """One documentation page; public, as it holds no data."""
    try:
        title, body = page_html(name)
    except LookupError:
        raise NotFound("Not found") from None
    return render(request, "help/page.html", {"title": title, "body": body})
