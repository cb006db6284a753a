"""`/erase`: where a panelist types the receipt code the recorder showed them, to see what Candor
holds for them (per recording: analysed or not, when its video was deleted and its key destroyed,
what derived data remains) and to have all of it deleted (the same as withdrawing)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from web.csrf import CsrfDep
from web.deps import SessionDep, SettingsDep
from web.errors import NotFound
from web.pages import read_form, render
from web.panel.endings import erase_by_receipt
from web.panel.holdings import Holdings, holdings
from web.panel.tokens import RECEIPT_LENGTH
from web.ratelimit import limit_erase_attempts

MAX_CODE = 64
TEXT = {
    "en": {
        "title": "Delete my recording",
        "intro": "When you took part in a survey with a webcam step, you were shown a receipt "
        "code. Enter it here to delete your recording and every measurement made from it. "
        "You do not need to say who you are.",
        "offline": "Pressed \u201cStop and delete my recording\u201d without a connection, then "
        "closed the page? Your browser may not have been able to send the request. Enter the "
        "code shown on that screen here: it deletes everything just the same.",
        "label": "Receipt code",
        "hint": "For example ABCD-EFGH-JKMN-PQRS. Upper or lower case, with or without dashes.",
        "submit": "Delete my data",
        "show": "See what Candor holds",
        "held_title": "What Candor holds for this code",
        "held_intro": "Times are in UTC. Nothing here says who you are: Candor never kept your "
        "name, your survey answers or your IP address.",
        "recording": "Recording {n}",
        "analysed": "Analysed into attention and expression curves.",
        "analysed_emotions": "Analysed into attention, expression and emotion curves.",
        "not_analysed": "Not analysed (it could not be, or it was not finished).",
        "withdrawn": "You stopped this recording and had it deleted; it was not analysed.",
        "superseded": "Deleted when you started the survey again; it was not kept.",
        "in_progress": "Still being uploaded or analysed: the video exists for now, encrypted, "
        "and is deleted as soon as it is analysed.",
        "deleted": "Video deleted on {when}.",
        "key": "Its encryption key was destroyed at the same time: any copy left in a backup "
        "can no longer be read.",
        "curves": "Kept: {n} seconds of curves (attention and expressions, per second), "
        "linked to no name.",
        "emotion_curves": "Kept: {n} seconds of emotion curves inferred from your expressions "
        "(joy, sadness, anger, fear, surprise, disgust, contempt, valence and engagement, per "
        "second), linked to no name.",
        "no_curves": "Kept: nothing derived from it.",
        "erase_rest": "Delete the rest too",
        "erased_note": "Everything derived from these recordings has been deleted.",
        "erased_at": "Everything derived from these recordings was deleted on {when} (UTC).",
        "nothing": "No recording was made with this code.",
        "done_title": "Your data has been deleted",
        "done": "The recording made with this receipt code and every measurement made from it "
        "have been deleted. The survey answers themselves are kept by the survey's owner.",
        "done_at": "Deleted on {when} (UTC).",
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
        "offline": "Vous avez cliqué sur \u00ab\u00a0Arrêter et supprimer mon "
        "enregistrement\u00a0\u00bb sans connexion, puis fermé la page\u00a0? Votre "
        "navigateur n'a peut-être pas pu envoyer la demande. Saisissez ici le code affiché sur "
        "cet écran\u00a0: il supprime tout de la même façon.",
        "label": "Code de reçu",
        "hint": "Par exemple ABCD-EFGH-JKMN-PQRS. Majuscules ou minuscules, avec ou sans tirets.",
        "submit": "Supprimer mes données",
        "show": "Voir ce que Candor conserve",
        "held_title": "Ce que Candor conserve pour ce code",
        "held_intro": "Heures en UTC. Rien ici ne dit qui vous êtes : Candor n'a jamais gardé "
        "votre nom, vos réponses au questionnaire ni votre adresse IP.",
        "recording": "Enregistrement {n}",
        "analysed": "Analysé en courbes d'attention et d'expressions.",
        "analysed_emotions": "Analysé en courbes d'attention, d'expressions et d'émotions.",
        "not_analysed": "Non analysé (il ne pouvait pas l'être, ou n'a pas été terminé).",
        "withdrawn": "Vous avez arrêté cet enregistrement et l'avez fait supprimer ; il n'a pas "
        "été analysé.",
        "superseded": "Supprimé quand vous avez recommencé le questionnaire ; il n'a pas été "
        "conservé.",
        "in_progress": "En cours d'envoi ou d'analyse : la vidéo existe pour l'instant, "
        "chiffrée, et sera supprimée dès son analyse.",
        "deleted": "Vidéo supprimée le {when}.",
        "key": "Sa clé de chiffrement a été détruite au même moment : une copie restée dans "
        "une sauvegarde ne peut plus être lue.",
        "curves": "Conservé : {n} secondes de courbes (attention et expressions, par seconde), "
        "liées à aucun nom.",
        "emotion_curves": "Conservé : {n} secondes de courbes d'émotions déduites de vos "
        "expressions (joie, tristesse, colère, peur, surprise, dégoût, mépris, valence et "
        "engagement, par seconde), liées à aucun nom.",
        "no_curves": "Conservé : rien qui en soit tiré.",
        "erase_rest": "Supprimer aussi le reste",
        "erased_note": "Tout ce qui a été tiré de ces enregistrements a été supprimé.",
        "erased_at": "Tout ce qui a été tiré de ces enregistrements a été supprimé le {when} "
        "(UTC).",
        "nothing": "Aucun enregistrement n'a été fait avec ce code.",
        "done_title": "Vos données ont été supprimées",
        "done": "L'enregistrement lié à ce code de reçu et toutes les mesures qui en ont été "
        "tirées ont été supprimés. Les réponses au questionnaire restent chez son auteur.",
        "done_at": "Supprimé le {when} (UTC).",
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
    request: Request,
    lang: str,
    *,
    code: str = "",
    error: str | None = None,
    status: int = 200,
    held: Holdings | None = None,
    done: bool = False,
    erased_at: datetime | None = None,
) -> HTMLResponse:
    context: dict[str, object] = {"lang": lang, "t": TEXT[lang], "code": code, "error": error}
    context.update(other="fr" if lang == "en" else "en", held=held, done=done)
    context.update(erased_at=erased_at, when=_when)
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
    """Show what a receipt code holds (`action=show`), or erase it and show what is left; a wrong
    code says so and keeps what was typed."""
    await run_in_threadpool(limit_erase_attempts, request)
    lang = erase_locale(request, locale)
    text = TEXT[lang]
    form = await read_form(request)
    code = form.get("receipt_code", "").strip()
    erase_it = form.get("action", "erase") != "show"
    if not code:
        return _page(request, lang, error=text["missing"], status=400)
    # Codes are 16 letters and digits in groups of four; spaces and dashes do not count.
    if len(code) > MAX_CODE or sum(c.isalnum() for c in code) != RECEIPT_LENGTH:
        return _page(request, lang, code=code[:MAX_CODE], error=text["malformed"], status=400)
    erased_at = None
    try:
        if erase_it:
            erased_at = await run_in_threadpool(
                erase_by_receipt, session=session, settings=settings, receipt_code=code
            )
        held = await run_in_threadpool(
            holdings, session=session, settings=settings, receipt_code=code
        )
    except NotFound:
        return _page(request, lang, code=code, error=text["unknown"], status=404)
    return _page(request, lang, code=code, held=held, done=erase_it, erased_at=erased_at)


def _when(moment: datetime) -> str:
    """A time as the page shows it: UTC to the second."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")
