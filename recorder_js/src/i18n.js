// The recorder's own interface text, in every locale it speaks. The consent text itself comes
// from the API, written by the study designer.

const STRINGS = {
  en: {
    loading: "Loading…",
    consentTitle: "Before we start",
    agree: "I agree",
    fallbackTitle: "Your video would have to be sent",
    fallbackAgree: "I agree to send my video",
    fallbackDecline: "No thanks, continue without camera",
    fallbackNote:
      "Nothing has been recorded or sent so far. If you say no, the survey simply continues.",
    decline: "No thanks",
    declineNote: "Saying no will not affect the rest of the survey.",
    storageNote:
      "The video is never stored on this device: what is not sent yet is held only while this " +
      "page is open, and goes with it.",
    cameraTitle: "Your camera",
    cameraExplain:
      "Your browser will now ask to use your camera. It is switched on only while each ad plays, " +
      "after a short preview. The video is turned into numbers (attention, expressions) and then " +
      "deleted; nobody watches it and no picture of you is kept.",
    cameraButton: "Turn on my camera",
    cameraWaiting: "Waiting for your answer to the browser's camera question…",
    preflightTitle: "Camera check",
    preflightExplain:
      "This preview is only on your screen. Sit facing the screen, with your face in the frame " +
      "and light in front of you, then press Check.",
    preflightCheck: "Check",
    preflightChecking: "Checking…",
    checkLight: "Enough light",
    checkFace: "Face visible in the middle",
    checkPass: "OK",
    checkFail: "Not yet",
    lightTip: "Turn on a light or face a window; avoid a bright window behind you.",
    faceTip: "Move so your face is in the middle of the picture, about an arm's length away.",
    preflightPassed: "All good.",
    skipCamera: "Continue without camera",
    noCameraEnded: "You can now continue the survey without the camera.",
    readyTitle: "Ready",
    readyExplain:
      "The camera is off now. It turns on only while each ad plays. Please watch each ad to the " +
      "end; you cannot skip or rewind.",
    adsCount: (n) => (n === 1 ? "1 ad" : `${n} ads`),
    startButton: "Start",
    playButton: "Play",
    autoplayBlocked: "Press Play to start the next ad.",
    replayNote:
      "This ad was interrupted (the page was reloaded), so it plays again from the start. " +
      "The part recorded before is deleted.",
    playingLabel: (i, n) => `Ad ${i} of ${n}`,
    recording: "Recording",
    nextAd: "Next ad…",
    drainingTitle: "Almost done",
    drainingExplain: "Sending the last seconds of your recording. Please keep this page open.",
    offline: "You are offline. The upload will continue when the connection is back.",
    unreachable: "Candor cannot be reached just now. The upload will continue by itself.",
    doneTitle: "Thank you",
    doneIncomplete:
      "Part of the ad was not recorded (the page was reloaded, closed or hidden while it " +
      "played), so this recording will probably not count. The survey is told so; nothing " +
      "more is needed from you.",
    receiptExplain: "Your receipt code. Keep it if you may want your data deleted later:",
    eraseAt: "To have your data deleted later, enter this code at",
    continueSurvey: "Continue the survey",
    closeWindow: "You can now close this window.",
    continueInSurvey: "You can go on with the survey.",
    declineAskTitle: "One optional question",
    declineAsk: "Your camera will not be used. If you like, tell us why; or just continue.",
    declineReasons: {
      not_now: "Not now",
      privacy: "Privacy",
      no_camera: "No camera",
      other: "Another reason",
    },
    declineContinue: "Continue",
    withdrawnReceipt: "Your receipt code. It shows that you stopped and deleted this recording:",
    checkAt: "To see at any time what is kept under this code, enter it at",
    previewReturn: (status) =>
      `Preview: a panelist would now go back to the survey with the status “${status}”, to:`,
    previewNoReturn: (status) =>
      `Preview: a panelist would now stay on this page, and a survey framing it would receive ` +
      `the status “${status}” by postMessage.`,
    elsewhereTitle: "This recording is open in another tab",
    elsewhereExplain:
      "Your recording for this survey is already open in another tab or window of this " +
      "browser. Please go back to that tab to continue; this tab cannot resume it, and nothing " +
      "was recorded here.",
    closedTitle: "This study is closed",
    closedExplain:
      "Thank you for your interest. This study is not taking new participants at the moment. " +
      "Nothing was recorded, and your camera was not used.",
    closedPreviewReason: (reason) => `Preview: panelists see this screen because: ${reason}`,
    declinedTitle: "No problem",
    declinedExplain: "Your camera was not used.",
    returning: "Returning you to the survey…",
    withdrawButton: "Stop and delete my recording",
    withdrawConsentButton: "Withdraw my consent",
    deleteButton: "Delete my recording",
    previewBadge: "Preview — not counted in results",
    withdrawing: "Stopping and deleting…",
    withdrawnTitle: "Recording deleted",
    withdrawnExplain: "The camera is off and everything recorded has been deleted.",
    withdrawnNothing: "Your consent is withdrawn. Nothing was recorded and the camera is off.",
    withdrawnPending:
      "The camera is off and the recording has stopped. This device cannot reach the server " +
      "right now: what was already sent will be deleted as soon as the connection returns. " +
      "This code also has everything deleted, from any device:",
    withdrawnPendingPageOnly:
      "The camera is off and the recording has stopped. This device cannot reach the server " +
      "right now: what was already sent will be deleted as soon as the connection returns, " +
      "while this page is open or the next time this survey is opened on this device. This " +
      "browser cannot send it after you close this page, so if you close it before then, " +
      "enter this code at the address below: it has everything deleted, from any device:",
    withdrawnPendingBackground:
      "The camera is off and the recording has stopped. This device cannot reach the server " +
      "right now: this browser will send your request as soon as the connection returns, " +
      "even if you close this page, and what was already sent will then be deleted. This " +
      "code also has everything deleted, from any device:",
    failedTitle: "Something went wrong",
    failedExplain: "We could not complete the recording. You can continue the survey.",
    retryCamera: "Try again",
    noCameraTitle: {
      denied: "Camera access was blocked",
      not_found: "No camera found",
      busy: "Your camera is busy",
      unsupported: "This browser cannot record",
      insecure: "This page is not secure",
      lost: "The camera stopped",
      on_device: "This browser cannot read your face on this device",
      preflight: "The camera check did not pass",
      other: "The camera could not start",
    },
    noCameraSteps: {
      denied: [
        "Click the camera or lock icon in the address bar and allow the camera for this site.",
        'If the page is inside a survey, the survey may block the camera: ask its author to add allow="camera".',
        "Then press Try again.",
      ],
      not_found: [
        "Check that a camera is connected and switched on.",
        "Laptop cameras sometimes have a privacy switch or a key to turn them on.",
        "Then press Try again.",
      ],
      busy: [
        "Close other programs or tabs that use the camera (video calls, photo apps).",
        "Then press Try again.",
      ],
      unsupported: ["Open this survey in an up-to-date Chrome, Edge, Firefox or Safari."],
      insecure: ["Open this page with an https:// address."],
      lost: ["Check that the camera is still connected, then press Try again."],
      on_device: [
        "This study analyses your face only on your own device, so no video is ever sent. This browser or computer cannot do that fast enough.",
        "Nothing was recorded. You can continue the survey without the camera.",
      ],
      preflight: [
        "More light in front of you and your face in the middle usually helps.",
        "You can try again, or continue the survey without the camera.",
      ],
      other: ["Reload the page, or try another browser, then press Try again."],
    },
  },
  fr: {
    loading: "Chargement…",
    consentTitle: "Avant de commencer",
    agree: "J'accepte",
    fallbackTitle: "Votre vidéo devrait être envoyée",
    fallbackAgree: "J'accepte d'envoyer ma vidéo",
    fallbackDecline: "Non merci, continuer sans caméra",
    fallbackNote:
      "Rien n'a été enregistré ni envoyé jusqu'ici. Si vous refusez, l'enquête continue simplement.",
    decline: "Non merci",
    declineNote: "Refuser n'a aucune conséquence sur la suite du questionnaire.",
    storageNote:
      "La vidéo n'est jamais enregistrée sur cet appareil : ce qui n'est pas encore envoyé n'est " +
      "gardé que tant que cette page est ouverte, et disparaît avec elle.",
    cameraTitle: "Votre caméra",
    cameraExplain:
      "Votre navigateur va vous demander l'accès à la caméra. Elle n'est allumée que pendant " +
      "chaque publicité, après un court aperçu. La vidéo est transformée en chiffres (attention, " +
      "expressions) puis supprimée ; personne ne la regarde et aucune image de vous n'est gardée.",
    cameraButton: "Allumer ma caméra",
    cameraWaiting: "En attente de votre réponse à la question du navigateur…",
    preflightTitle: "Vérification de la caméra",
    preflightExplain:
      "Cet aperçu ne s'affiche que sur votre écran. Placez-vous face à l'écran, le visage dans " +
      "le cadre et la lumière devant vous, puis appuyez sur Vérifier.",
    preflightCheck: "Vérifier",
    preflightChecking: "Vérification…",
    checkLight: "Assez de lumière",
    checkFace: "Visage visible au centre",
    checkPass: "OK",
    checkFail: "Pas encore",
    lightTip:
      "Allumez une lampe ou tournez-vous vers une fenêtre ; évitez une fenêtre derrière vous.",
    faceTip: "Placez votre visage au centre de l'image, à environ un bras de distance.",
    preflightPassed: "Tout est bon.",
    skipCamera: "Continuer sans caméra",
    noCameraEnded: "Vous pouvez maintenant continuer le questionnaire sans la caméra.",
    readyTitle: "Prêt",
    readyExplain:
      "La caméra est éteinte. Elle ne s'allume que pendant chaque publicité. Regardez chaque " +
      "publicité jusqu'au bout ; on ne peut ni la passer ni revenir en arrière.",
    adsCount: (n) => (n === 1 ? "1 publicité" : `${n} publicités`),
    startButton: "Commencer",
    playButton: "Lire",
    autoplayBlocked: "Appuyez sur Lire pour lancer la publicité suivante.",
    replayNote:
      "Cette publicité a été interrompue (la page a été rechargée) : elle repart du début. " +
      "La partie enregistrée avant est supprimée.",
    playingLabel: (i, n) => `Publicité ${i} sur ${n}`,
    recording: "Enregistrement",
    nextAd: "Publicité suivante…",
    drainingTitle: "Presque fini",
    drainingExplain: "Envoi des dernières secondes de l'enregistrement. Gardez cette page ouverte.",
    offline: "Vous êtes hors ligne. L'envoi reprendra au retour de la connexion.",
    unreachable: "Candor est injoignable pour l'instant. L'envoi reprendra de lui-même.",
    doneTitle: "Merci",
    doneIncomplete:
      "Une partie de la publicité n'a pas été enregistrée (la page a été rechargée, fermée ou " +
      "masquée pendant la lecture) : cet enregistrement ne comptera sans doute pas. Le " +
      "questionnaire en est informé ; vous n'avez rien d'autre à faire.",
    receiptExplain:
      "Votre code de reçu. Gardez-le si vous souhaitez faire effacer vos données plus tard :",
    eraseAt: "Pour faire effacer vos données plus tard, saisissez ce code sur",
    continueSurvey: "Continuer le questionnaire",
    closeWindow: "Vous pouvez fermer cette fenêtre.",
    continueInSurvey: "Vous pouvez continuer le questionnaire.",
    declineAskTitle: "Une question facultative",
    declineAsk:
      "Votre caméra ne sera pas utilisée. Si vous le souhaitez, dites-nous pourquoi ; ou continuez simplement.",
    declineReasons: {
      not_now: "Pas maintenant",
      privacy: "Vie privée",
      no_camera: "Pas de caméra",
      other: "Une autre raison",
    },
    declineContinue: "Continuer",
    withdrawnReceipt:
      "Votre code de reçu. Il montre que vous avez arrêté et supprimé cet enregistrement :",
    checkAt: "Pour voir à tout moment ce qui est conservé sous ce code, saisissez-le sur",
    previewReturn: (status) =>
      `Aperçu : un panéliste retournerait maintenant au questionnaire avec le statut « ${status} », à l'adresse :`,
    previewNoReturn: (status) =>
      `Aperçu : un panéliste resterait sur cette page, et un questionnaire qui l'intègre ` +
      `recevrait le statut « ${status} » par postMessage.`,
    elsewhereTitle: "Cet enregistrement est ouvert dans un autre onglet",
    elsewhereExplain:
      "Votre enregistrement pour ce questionnaire est déjà ouvert dans un autre onglet ou une " +
      "autre fenêtre de ce navigateur. Revenez à cet onglet pour continuer ; celui-ci ne peut " +
      "pas le reprendre, et rien n'y a été enregistré.",
    closedTitle: "Cette étude est fermée",
    closedExplain:
      "Merci de votre intérêt. Cette étude n'accepte pas de nouveaux participants pour le " +
      "moment. Rien n'a été enregistré et votre caméra n'a pas été utilisée.",
    closedPreviewReason: (reason) =>
      `Aperçu : les panélistes voient cet écran pour la raison suivante : ${reason}`,
    declinedTitle: "Pas de problème",
    declinedExplain: "Votre caméra n'a pas été utilisée.",
    returning: "Retour au questionnaire…",
    withdrawButton: "Arrêter et supprimer mon enregistrement",
    withdrawConsentButton: "Retirer mon consentement",
    deleteButton: "Supprimer mon enregistrement",
    previewBadge: "Aperçu — non compté dans les résultats",
    withdrawing: "Arrêt et suppression…",
    withdrawnTitle: "Enregistrement supprimé",
    withdrawnExplain: "La caméra est éteinte et tout ce qui a été enregistré a été supprimé.",
    withdrawnNothing:
      "Votre consentement est retiré. Rien n'a été enregistré et la caméra est éteinte.",
    withdrawnPending:
      "La caméra est éteinte et l'enregistrement est arrêté. Cet appareil ne peut pas joindre " +
      "le serveur pour le moment : ce qui a déjà été envoyé sera supprimé dès le retour de la " +
      "connexion. Ce code permet aussi de tout faire supprimer, depuis n'importe quel appareil :",
    withdrawnPendingPageOnly:
      "La caméra est éteinte et l'enregistrement est arrêté. Cet appareil ne peut pas joindre " +
      "le serveur pour le moment : ce qui a déjà été envoyé sera supprimé dès le retour de la " +
      "connexion, tant que cette page est ouverte ou à la prochaine ouverture de ce " +
      "questionnaire sur cet appareil. Ce navigateur ne peut pas envoyer la demande une fois " +
      "cette page fermée : si vous la fermez avant, saisissez ce code à l'adresse ci-dessous, " +
      "il permet de tout faire supprimer, depuis n'importe quel appareil :",
    withdrawnPendingBackground:
      "La caméra est éteinte et l'enregistrement est arrêté. Cet appareil ne peut pas joindre " +
      "le serveur pour le moment : ce navigateur enverra votre demande dès le retour de la " +
      "connexion, même si vous fermez cette page, et ce qui a déjà été envoyé sera alors " +
      "supprimé. Ce code permet aussi de tout faire supprimer, depuis n'importe quel appareil :",
    failedTitle: "Un problème est survenu",
    failedExplain: "L'enregistrement n'a pas pu aboutir. Vous pouvez continuer le questionnaire.",
    retryCamera: "Réessayer",
    noCameraTitle: {
      denied: "L'accès à la caméra a été bloqué",
      not_found: "Aucune caméra trouvée",
      busy: "Votre caméra est occupée",
      unsupported: "Ce navigateur ne peut pas enregistrer",
      insecure: "Cette page n'est pas sécurisée",
      lost: "La caméra s'est arrêtée",
      on_device: "Ce navigateur ne peut pas analyser votre visage sur cet appareil",
      preflight: "La vérification de la caméra n'a pas abouti",
      other: "La caméra n'a pas pu démarrer",
    },
    noCameraSteps: {
      denied: [
        "Cliquez sur l'icône de caméra ou de cadenas dans la barre d'adresse et autorisez la caméra pour ce site.",
        'Si la page est dans un questionnaire, celui-ci bloque peut-être la caméra : demandez à son auteur d\'ajouter allow="camera".',
        "Puis appuyez sur Réessayer.",
      ],
      not_found: [
        "Vérifiez qu'une caméra est branchée et allumée.",
        "Certains ordinateurs portables ont un interrupteur ou une touche pour la caméra.",
        "Puis appuyez sur Réessayer.",
      ],
      busy: [
        "Fermez les autres programmes ou onglets qui utilisent la caméra (visioconférence, photo).",
        "Puis appuyez sur Réessayer.",
      ],
      unsupported: [
        "Ouvrez ce questionnaire dans une version récente de Chrome, Edge, Firefox ou Safari.",
      ],
      insecure: ["Ouvrez cette page avec une adresse https://."],
      lost: ["Vérifiez que la caméra est toujours branchée, puis appuyez sur Réessayer."],
      on_device: [
        "Cette étude analyse votre visage uniquement sur votre appareil : aucune vidéo n'est envoyée. Ce navigateur ou cet ordinateur ne peut pas le faire assez vite.",
        "Rien n'a été enregistré. Vous pouvez continuer le questionnaire sans caméra.",
      ],
      preflight: [
        "Plus de lumière devant vous et le visage au centre aident souvent.",
        "Vous pouvez réessayer ou continuer le questionnaire sans caméra.",
      ],
      other: ["Rechargez la page ou essayez un autre navigateur, puis appuyez sur Réessayer."],
    },
  },
};

export const LOCALES = Object.freeze(Object.keys(STRINGS));

/** The best supported locale for a tag like "fr-CA"; English when nothing matches. */
export function resolveLocale(tag) {
  const base = String(tag || "")
    .toLowerCase()
    .split(/[-_]/)[0];
  return LOCALES.includes(base) ? base : "en";
}

/**
 * The panelist's language as the API should get it: the whole tag when it is well formed
 * ("de", "fr-CA", "pt-BR"), so the designer's consent text in any language can be chosen, else
 * its language part ("ZH-S" from Qualtrics → "zh"), else null (the integration's default).
 */
export function requestLocale(tag) {
  const text = String(tag || "").trim();
  if (/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$/.test(text)) return text;
  const base = text.split(/[-_]/)[0];
  return /^[A-Za-z]{2,3}$/.test(base) ? base : null;
}

export function strings(locale) {
  return STRINGS[resolveLocale(locale)];
}

// Strings that take values: the placeholders a designer's translation writes for them.
const ARGUMENTS = {
  adsCount: ["n"],
  playingLabel: ["i", "n"],
  previewReturn: ["status"],
  previewNoReturn: ["status"],
  closedPreviewReason: ["reason"],
};

/**
 * Every interface string of a locale as flat `key → text` ("noCameraTitle.denied",
 * "noCameraSteps.busy.0"); strings that take values come as templates ("Ad {i} of {n}"). The
 * integration page lists these so a designer can translate the recorder for a new language.
 */
export function flatStrings(locale = "en") {
  const out = {};
  const walk = (value, key) => {
    if (typeof value === "function") {
      out[key] = value(...ARGUMENTS[key].map((name) => `{${name}}`));
    } else if (value && typeof value === "object") {
      for (const [part, inner] of Object.entries(value)) walk(inner, key ? `${key}.${part}` : part);
    } else {
      out[key] = String(value);
    }
  };
  walk(STRINGS[resolveLocale(locale)], "");
  return out;
}

/**
 * A locale's strings with a designer's translations (flat, as flatStrings gives them) laid over
 * them; unknown keys and empty texts are ignored, templates become functions again.
 */
export function withTranslations(base, translations) {
  if (!translations || typeof translations !== "object") return base;
  const out = structuredClone(
    Object.fromEntries(Object.entries(base).filter(([, v]) => typeof v !== "function")),
  );
  for (const [key, value] of Object.entries(base))
    if (typeof value === "function") out[key] = value;
  for (const [key, text] of Object.entries(translations)) {
    if (typeof text !== "string" || !text.trim()) continue;
    const path = key.split(".");
    const last = path.pop();
    let target = out;
    for (const part of path) target = target && typeof target === "object" ? target[part] : null;
    if (!target || typeof target !== "object" || !(last in target)) continue;
    if (typeof target[last] === "function" && ARGUMENTS[key]) {
      const names = ARGUMENTS[key];
      target[last] = (...values) =>
        names.reduce((t, name, i) => t.split(`{${name}}`).join(String(values[i])), text);
    } else if (typeof target[last] === "string") {
      target[last] = text;
    }
  }
  return out;
}
