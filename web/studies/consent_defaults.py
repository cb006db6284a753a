"""The consent text and instructions every new integration starts with, in English and French.

Plain language, one idea per line: what is filmed, what is measured, that the video is deleted,
that nobody is identified, that taking part is voluntary and can stop at any time, and whom to ask.
A study in emotion mode gets a variant whose "what is measured" also says, in plain words, that a
program infers emotions from the face (EU AI Act art. 50(3)); that variant is saved with
`discloses_emotion` ticked. A study analysed on the panelist's device gets a variant saying that
the video never leaves the device, and which numbers are sent instead (saved with `on_device`).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LOCALES = ("en", "fr")


@dataclass(frozen=True)
class DefaultConsent:
    consent_text: str
    instructions: str
    discloses_emotion: bool = False
    on_device: bool = False


_EN_CONSENT = """\
This part of the survey uses your webcam. Please read this before you choose.

What is filmed: your face, through your webcam, only while each ad is playing. \
The camera is not switched on before you agree, and it stops when the ads end.

What is measured: computer programs trained on many faces read from the video whether you \
are looking at the screen and how your face moves (for example, a smile or raised eyebrows). \
Nobody watches the video.

The video is deleted as soon as it has been analysed, normally within minutes. \
Only the measurements are kept.

No identification: we do not try to find out who you are. We do not keep pictures of your \
face, and the measurements are stored without your name.

Your choice: taking part is voluntary. If you say no, the survey simply continues. \
You can stop at any time with the "Stop and delete my recording" button, and everything \
recorded of you in this study is deleted.

At the end you get a short receipt code. Keep it if you may want your data erased later.

Questions: contact {organisation} at {contact}."""

# Replaces the "What is measured" paragraph in emotion mode.
_EN_MEASURED = """\
What is measured: computer programs trained on many faces read from the video whether you \
are looking at the screen and how your face moves (for example, a smile or raised eyebrows). \
Nobody watches the video."""

_EN_MEASURED_EMOTIONS = """\
What is measured: computer programs trained on many faces read from the video whether you \
are looking at the screen and how your face moves (for example, a smile or raised eyebrows). \
Nobody watches the video.

Emotion recognition: in this study the programs also use your facial expressions to guess \
emotions, second by second: joy, surprise, anger, sadness, disgust, fear and contempt, and \
whether your reaction looks positive or negative and how engaged you seem. \
These are a machine's guesses from how your face moves, not a reading of what you \
really feel, and they are stored without your name, like the other measurements."""

_EN_INSTRUCTIONS = """\
Sit facing the screen in a well-lit place, with the light in front of you rather than behind.
Keep your whole face in the frame, and make sure nobody else is in view.
Then watch the ads as you normally would."""

_FR_CONSENT = """\
Cette partie du questionnaire utilise votre webcam. Merci de lire ceci avant de choisir.

Ce qui est filmé : votre visage, par votre webcam, uniquement pendant la diffusion de chaque \
publicité. La caméra n'est pas allumée avant votre accord, et elle s'arrête à la fin des publicités.

Ce qui est mesuré : des programmes informatiques entraînés sur de nombreux visages lisent \
dans la vidéo si vous regardez l'écran et comment votre visage bouge (par exemple un sourire \
ou des sourcils levés). Personne ne regarde la vidéo.

La vidéo est supprimée dès qu'elle a été analysée, en général en quelques minutes. \
Seules les mesures sont conservées.

Aucune identification : nous ne cherchons pas à savoir qui vous êtes. Nous ne gardons aucune \
image de votre visage, et les mesures sont enregistrées sans votre nom.

Votre choix : participer est facultatif. Si vous refusez, le questionnaire continue normalement. \
Vous pouvez arrêter à tout moment avec le bouton « Arrêter et supprimer mon enregistrement », \
et tout ce qui a été enregistré de vous dans cette étude est supprimé.

À la fin, vous recevez un court code de reçu. Gardez-le si vous souhaitez faire effacer vos \
données plus tard.

Questions : contactez {organisation} à l'adresse {contact}."""

_FR_MEASURED = """\
Ce qui est mesuré : des programmes informatiques entraînés sur de nombreux visages lisent \
dans la vidéo si vous regardez l'écran et comment votre visage bouge (par exemple un sourire \
ou des sourcils levés). Personne ne regarde la vidéo."""

_FR_MEASURED_EMOTIONS = """\
Ce qui est mesuré : des programmes informatiques entraînés sur de nombreux visages lisent \
dans la vidéo si vous regardez l'écran et comment votre visage bouge (par exemple un sourire \
ou des sourcils levés). Personne ne regarde la vidéo.

Reconnaissance des émotions : dans cette étude, ces programmes utilisent aussi vos expressions \
faciales pour deviner des émotions, seconde par seconde : joie, surprise, colère, tristesse, \
dégoût, peur et mépris, si votre réaction semble positive ou négative et à quel point \
vous semblez captivé. Ce sont des suppositions d'une machine à partir des mouvements de \
votre visage, pas une lecture de ce que vous ressentez vraiment, et elles sont enregistrées \
sans votre nom, comme les autres mesures."""

_FR_INSTRUCTIONS = """\
Installez-vous face à l'écran dans un endroit bien éclairé, la lumière devant vous plutôt que \
derrière.
Gardez tout votre visage dans le cadre, et vérifiez que personne d'autre n'est visible.
Regardez ensuite les publicités comme vous le feriez d'habitude."""

_TEMPLATES = {
    "en": (_EN_CONSENT, _EN_INSTRUCTIONS, _EN_MEASURED, _EN_MEASURED_EMOTIONS),
    "fr": (_FR_CONSENT, _FR_INSTRUCTIONS, _FR_MEASURED, _FR_MEASURED_EMOTIONS),
}

# On-device mode: the paragraphs about filming, measuring and deleting the video, replaced by what
# happens instead (issue 22): the face is read in the panelist's browser; numbers are sent.
_EN_ON_DEVICE = (
    (
        """\
What is filmed: your face, through your webcam, only while each ad is playing. \
The camera is not switched on before you agree, and it stops when the ads end.""",
        """\
What the camera is used for: your face, through your webcam, only while each ad is playing. \
The camera is not switched on before you agree, and it stops when the ads end.""",
    ),
    (
        _EN_MEASURED,
        """\
On your device only: a program running in this browser reads from the camera whether you are \
looking at the screen and how your face moves (for example, raised eyebrows or an open mouth). \
The video never leaves your device: it is not sent, not stored, and nobody watches it.""",
    ),
    (
        """\
The video is deleted as soon as it has been analysed, normally within minutes. \
Only the measurements are kept.""",
        """\
What is sent: numbers only, about 15 times a second: how strongly each facial movement shows, \
where your head and eyes point, how open your eyes are, how bright the picture is and whether \
your mouth or eyes are covered. They describe how your face moves, not what it looks like. \
Only these measurements are kept.""",
    ),
)
_FR_ON_DEVICE = (
    (
        """\
Ce qui est filmé : votre visage, par votre webcam, uniquement pendant la diffusion de chaque \
publicité.""",
        """\
À quoi sert la caméra : à lire votre visage, uniquement pendant la diffusion de chaque \
publicité.""",
    ),
    (
        _FR_MEASURED,
        """\
Sur votre appareil uniquement : un programme qui tourne dans ce navigateur lit, à partir de la \
caméra, si vous regardez l'écran et comment votre visage bouge (par exemple des sourcils levés \
ou une bouche ouverte). La vidéo ne quitte jamais votre appareil : elle n'est ni envoyée, ni \
enregistrée, et personne ne la regarde.""",
    ),
    (
        """\
La vidéo est supprimée dès qu'elle a été analysée, en général en quelques minutes. \
Seules les mesures sont conservées.""",
        """\
Ce qui est envoyé : uniquement des nombres, environ 15 fois par seconde : l'intensité de chaque \
mouvement du visage, la direction de la tête et des yeux, l'ouverture des yeux, la luminosité \
de l'image et si votre bouche ou vos yeux sont cachés. Ils décrivent comment votre visage \
bouge, pas à quoi il ressemble. Seules ces mesures sont conservées.""",
    ),
)
_ON_DEVICE = {"en": _EN_ON_DEVICE, "fr": _FR_ON_DEVICE}

# The server-mode fallback of an on-device study (candor.ondevice.Fallback.SERVER): said first,
# before the ordinary server-mode text, because the panelist agreed to something else a moment ago.
_FALLBACK_PREFACE = {
    "en": (
        "Your browser cannot read your face on this device, so the video cannot stay on it. "
        "You can still take part if you agree that the video is sent to our server instead, "
        "as described below. If you say no, nothing is sent and the survey simply continues."
        "\n\n"
    ),
    "fr": (
        "Votre navigateur ne peut pas lire votre visage sur cet appareil : la vidéo ne peut donc "
        "pas y rester. Vous pouvez tout de même participer si vous acceptez que la vidéo soit "
        "envoyée à notre serveur, comme décrit ci-dessous. Si vous refusez, rien n'est envoyé et "
        "l'enquête continue.\n\n"
    ),
}


def default_consent(
    locale: str,
    *,
    organisation: str,
    contact: str,
    emotions: bool = False,
    on_device: bool = False,
    fallback: bool = False,
) -> DefaultConsent:
    """The default texts in `locale`, naming the organisation and a contact address; with
    `emotions`, the variant that discloses emotion inference; with `on_device`, the variant that
    says the video never leaves the panelist's device, and what is sent instead; with
    `fallback`, the server-mode text an on-device study asks again with when the panelist's
    browser cannot read the face (it says so first)."""
    try:
        consent, instructions, measured, measured_emotions = _TEMPLATES[locale]
    except KeyError:
        raise ValueError(f"no default consent text in {locale!r}") from None
    if emotions and on_device:
        raise ValueError("emotion mode cannot run on the device")
    if fallback and on_device:
        raise ValueError("the fallback text is the server-mode text: the video is sent")
    if emotions:
        consent = consent.replace(measured, measured_emotions)
    if fallback:
        consent = _FALLBACK_PREFACE[locale] + consent
    if on_device:
        for old, new in _ON_DEVICE[locale]:
            if old not in consent:  # the template changed under this variant
                raise AssertionError(f"on-device variant of {locale!r} no longer matches")
            consent = consent.replace(old, new)
    return DefaultConsent(
        consent_text=consent.format(organisation=organisation, contact=contact),
        instructions=instructions,
        discloses_emotion=emotions,
        on_device=on_device,
    )
