// Filling the survey's return URL and going back to it, from a top-level page or an iframe.

const PLACEHOLDERS = ["respondent_id", "status", "receipt"];

/**
 * Replace {respondent_id}, {status} and {receipt} in the template, URL-encoded. Returns null
 * when there is no template (the panelist is then told they may close the window).
 */
export function fillReturnUrl(template, { respondentId, status, receipt }) {
  if (!template) return null;
  const values = {
    respondent_id: respondentId ?? "",
    status: status ?? "",
    receipt: receipt ?? "",
  };
  let url = template;
  for (const name of PLACEHOLDERS) {
    url = url.split(`{${name}}`).join(encodeURIComponent(String(values[name])));
  }
  return url;
}

/**
 * The page where a panelist types their receipt code to have their data deleted later, on
 * Candor's origin (`baseUrl`, or the page's own when the recorder is served from Candor).
 */
export function erasureUrl(baseUrl, locale, pageOrigin) {
  const origin = (baseUrl || pageOrigin || "").replace(/\/+$/, "");
  if (!/^https?:\/\//.test(origin)) return null;
  return `${origin}/erase?locale=${encodeURIComponent(locale || "en")}`;
}

/**
 * Go back to the survey. In a top-level page: navigate. Inside an iframe: tell the parent with
 * postMessage ({type: "candor:return", status, url, receipt}) so a host page can act on it, then
 * try to navigate the top window, which browsers allow only after a click in the frame (and not
 * at all in a sandbox without allow-top-navigation). In a top-level page with no URL (a script
 * tag in a survey page, return URL empty) the page itself gets the same message. Returns
 * "navigated", "top" or "blocked"; on "blocked" the page shows a link instead.
 */
export function goBack(win, { url, status, receipt, parentOrigin = "*" }) {
  const framed = isFramed(win);
  if (!framed) {
    if (url) {
      win.location.assign(url);
      return "navigated";
    }
    // Loaded into the survey page by a script tag, with nowhere to navigate: the page gets the
    // same message an iframe's parent gets, from itself (its own origin), and goes on.
    try {
      win.postMessage({ type: "candor:return", status, url, receipt }, win.location.origin);
    } catch {
      // An opaque origin ("null") cannot be targeted: nothing to tell.
    }
    return "blocked";
  }
  try {
    win.parent.postMessage({ type: "candor:return", status, url, receipt }, parentOrigin);
  } catch {
    // A malformed parentOrigin must not stop the navigation below.
  }
  if (!url) return "blocked";
  try {
    win.top.location.href = url;
    return "top";
  } catch {
    return "blocked";
  }
}

export function isFramed(win) {
  try {
    return win.self !== win.top;
  } catch {
    return true; // reading top threw: we are in a cross-origin frame
  }
}

/** The parent page's origin when framed, from the referrer; "*" if unknown. */
export function parentOriginOf(doc) {
  try {
    return doc.referrer ? new URL(doc.referrer).origin : "*";
  } catch {
    return "*";
  }
}
