"""`/erase`: where a panelist types the receipt code the recorder showed them, to have their
recording and everything derived from it deleted later (the same as withdrawing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from web.csrf import CsrfDep
from web.deps import SessionDep, SettingsDep
from web.pages import read_form, render
from web.panel.errors import PanelError
from web.panel.service import erase_by_receipt
from web.panel.tokens import RECEIPT_LENGTH
from web.ratelimit import limit_erase_attempts

MAX_CODE = 64
TEXT = {
    "en": {
        "title": "Delete my recording",
        "intro": "When you took part in a survey with a webcam step, you were shown a receipt "
        "code. Enter it here to delete your recording and every measurement made from it. "
        "You do not need to say who you are.",
        "label": "Receipt code",
        "hint": "For example ABCD-EFGH-JKMN-PQRS. Upper or lower case, with or without dashes.",
        "submit": "Delete my data",
        "done_title": "Your data has been deleted",
        "done": "The recording made with this receipt code and every measurement made from it "
        "have been deleted. The survey answers themselves are kept by the survey's owner.",
        "missing": "Enter the receipt code you were shown.",
        "malformed": "This does not look like a receipt code: it has 16 letters and digits.",
        "unknown": "No recording has this receipt code. Check it and try again.",
        "other": "Français",
    },
    "fr": {
        "title": "Supprimer mon enregistrement",
        "intro": "Lors d'un questionnaire avec une étape webcam, un code de reçu vous a été "
        "montré. Saisissez-le ici pour supprimer votre enregistrement et toutes les mesures "
        "qui en ont été tirées. Vous n'avez pas à dire qui vous êtes.",
        "label": "Code de reçu",
        "hint": "Par exemple ABCD-EFGH-JKMN-PQRS. Majuscules ou minuscules, avec ou sans tirets.",
        "submit": "Supprimer mes données",
        "done_title": "Vos données ont été supprimées",
        "done": "L'enregistrement lié à ce code de reçu et toutes les mesures qui en ont été "
        "tirées ont été supprimés. Les réponses au questionnaire restent chez son auteur.",
        "missing": "Saisissez le code de reçu qui vous a été montré.",
        "malformed": "Ceci ne ressemble pas à un code de reçu : il compte 16 lettres et chiffres.",
        "unknown": "Aucun enregistrement n'a ce code de reçu. Vérifiez-le et réessayez.",
        "other": "English",
    },
}

router = APIRouter(include_in_schema=False)


def erase_locale(request: Request, wanted: str | None) -> str:
    """The `locale` asked for, else the browser's first language we speak, else English."""
    candidates = [wanted or ""]
    accept = request.headers.get("accept-language", "")
    candidates += [part.split(";")[0].strip() for part in accept.split(",")]
    for candidate in candidates:
        base = candidate.replace("_", "-").split("-")[0].lower()
        if base in TEXT:
            return base
    return "en"


def _page(
    request: Request, lang: str, *, code: str = "", error: str | None = None, status: int = 200
) -> HTMLResponse:
    context: dict[str, object] = {"lang": lang, "t": TEXT[lang], "code": code, "error": error}
    context["other"] = "fr" if lang == "en" else "en"
    return render(request, "erasure/erase.html", context, status_code=status)


@router.get("/erase", response_class=HTMLResponse)
def erase_form(
    request: Request, locale: Annotated[str | None, Query(max_length=10)] = None
) -> HTMLResponse:
    return _page(request, erase_locale(request, locale))


@router.post("/erase", response_class=HTMLResponse)
async def erase(
    request: Request,
    _csrf: CsrfDep,
    session: SessionDep,
    settings: SettingsDep,
    locale: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    """Erase by receipt code; a wrong code says so and keeps what was typed."""
    await run_in_threadpool(limit_erase_attempts, request)
    lang = erase_locale(request, locale)
    text = TEXT[lang]
    code = (await read_form(request)).get("receipt_code", "").strip()
    if not code:
        return _page(request, lang, error=text["missing"], status=400)
    # Codes are 16 letters and digits in groups of four; spaces and dashes do not count.
    if len(code) > MAX_CODE or sum(c.isalnum() for c in code) != RECEIPT_LENGTH:
        return _page(request, lang, code=code[:MAX_CODE], error=text["malformed"], status=400)
    try:
        await run_in_threadpool(
            erase_by_receipt, session=session, settings=settings, receipt_code=code
        )
    except PanelError as exc:
        if exc.status_code != 404:
            raise
        return _page(request, lang, code=code, error=text["unknown"], status=404)
    context = {"lang": lang, "t": text, "done": True}
    return render(request, "erasure/erase.html", context)
