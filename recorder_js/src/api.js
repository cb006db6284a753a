// The panelist API client: one method per call of docs/panelist-api.md, retries with backoff.
//
// The transport is injected: a function (request) => Promise<{status, body}> that rejects only
// on network errors. Tests pass a scripted one; browsers get fetchTransport.

export class HttpError extends Error {
  constructor(status, body, method, path) {
    const detail = body && typeof body === "object" && "detail" in body ? body.detail : "";
    super(`${method} ${path} answered ${status}${detail ? `: ${formatDetail(detail)}` : ""}`);
    this.name = "HttpError";
    this.status = status;
    this.body = body;
  }
}

export class NetworkError extends Error {
  constructor(cause, method, path) {
    super(`${method} ${path} failed: ${cause && cause.message ? cause.message : cause}`);
    this.name = "NetworkError";
    this.cause = cause;
  }
}

export class AbortedError extends Error {
  constructor() {
    super("aborted");
    this.name = "AbortedError";
  }
}

/** Hex SHA-256 of a blob, or null where Web Crypto is missing (it needs a secure context). */
export async function sha256Hex(blob) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return null;
  const digest = await subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function formatDetail(detail) {
  return typeof detail === "string" ? detail : JSON.stringify(detail);
}

/** Default transport: fetch, JSON in and out, raw bytes for chunks, a timeout per request. */
export function fetchTransport({ fetchImpl = globalThis.fetch, timeoutMs = 30000 } = {}) {
  return async function transport({ method, url, headers, body, signal }) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const onAbort = () => controller.abort();
    if (signal) signal.addEventListener("abort", onAbort, { once: true });
    try {
      // credentials: "omit" because the bearer token is the only credential; no cookies leak.
      const response = await fetchImpl(url, {
        method,
        headers,
        body,
        signal: controller.signal,
        credentials: "omit",
      });
      const text = await response.text();
      let parsed = null;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = { detail: text.slice(0, 200) };
        }
      }
      return { status: response.status, body: parsed };
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", onAbort);
    }
  };
}

/** The default retry rule: network errors and 5xx are transient; a 4xx never is. */
export function isRetryable(error) {
  if (error instanceof NetworkError) return true;
  if (error instanceof HttpError) return error.status >= 500;
  return false;
}

export class PanelApi {
  /**
   * @param {object} o
   * @param {string} o.baseUrl   Candor's origin ("" for same origin)
   * @param {Function} o.transport
   * @param {number[]} o.retryDelays  ms to wait before each retry; its length is the retry count
   * @param {Function} [o.onShouldRetry]  (error, attempt, defaultDecision) => boolean
   * @param {Function} o.sleep  (ms, signal) => Promise
   * @param {Function} [o.digest]  (blob) => Promise<hex SHA-256 | null>
   */
  constructor({ baseUrl, transport, retryDelays, onShouldRetry, sleep, digest = sha256Hex }) {
    this.root = `${baseUrl.replace(/\/$/, "")}/api/v1/panel`;
    this.transport = transport;
    this.retryDelays = retryDelays;
    this.onShouldRetry = onShouldRetry;
    this.sleep = sleep;
    this.digest = digest;
    this.token = null;
  }

  /** One HTTP call without retries; resolves on 2xx and on statuses listed in `accept`. */
  async call(method, path, { json, raw, accept = [], signal, headers: extra = {} } = {}) {
    if (signal && signal.aborted) throw new AbortedError();
    const headers = { ...extra };
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (raw !== undefined) {
      headers["Content-Type"] = "application/octet-stream";
      body = raw;
    }
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let response;
    try {
      response = await this.transport({ method, url: this.root + path, headers, body, signal });
    } catch (cause) {
      if (signal && signal.aborted) throw new AbortedError();
      throw new NetworkError(cause, method, path);
    }
    if (signal && signal.aborted) throw new AbortedError();
    const { status } = response;
    if ((status >= 200 && status < 300) || accept.includes(status)) return response;
    throw new HttpError(status, response.body, method, path);
  }

  /** decide whether to retry after `attempt` failures; the user's hook has the last word. */
  shouldRetry(error, attempt) {
    if (error instanceof AbortedError) return false;
    const byDefault = isRetryable(error) && attempt <= this.retryDelays.length;
    if (typeof this.onShouldRetry === "function") {
      return Boolean(this.onShouldRetry(error, attempt, byDefault));
    }
    return byDefault;
  }

  /** A call retried with the configured delays; the last delay repeats if the hook asks for more. */
  async request(method, path, options = {}) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.call(method, path, options);
      } catch (error) {
        if (!this.shouldRetry(error, attempt)) throw error;
        const delays = this.retryDelays;
        const delay = delays.length ? delays[Math.min(attempt - 1, delays.length - 1)] : 0;
        await this.sleep(delay, options.signal);
      }
    }
  }

  startSession({ integration, respondentId, passthrough, locale, preview = false, resumeToken }) {
    const json = { integration, respondent_id: respondentId, passthrough, locale };
    // Only a preview says so: a panelist's request stays exactly what it always was.
    if (preview) json.preview = true;
    // The secret this browser was given for this respondent: only it resumes their session.
    if (resumeToken) json.resume_token = resumeToken;
    return this.request("POST", "/sessions", { json }).then((r) => {
      this.token = r.body.token;
      return r.body;
    });
  }

  consent(sessionId, { consentTextId, textSha256, locale, decision, reason }) {
    const json = { consent_text_id: consentTextId, text_sha256: textSha256, locale, decision };
    if (reason) json.reason = reason;
    return this.request("POST", `/sessions/${sessionId}/consent`, { json }).then((r) => r.body);
  }

  /** POST clips once: idempotent per (session, ad), retried by the uploader with the chunks. */
  createClip(sessionId, { adId, mimeType, restart = false }, signal) {
    const json = { ad_id: adId, mime_type: mimeType };
    if (restart) json.restart = true; // the ad offered again: its cut-off take is deleted
    return this.call("POST", `/sessions/${sessionId}/clips`, {
      json,
      signal,
    }).then((r) => r.body);
  }

  /** Is the server there? GET /ping once: any answer below 500 says so, a failure says not. */
  async ping(signal) {
    try {
      const response = await this.call("GET", "/ping", {
        signal,
        accept: Array.from({ length: 400 }, (_, i) => 100 + i),
      });
      return response.status < 500;
    } catch (error) {
      if (error instanceof AbortedError) throw error;
      return false;
    }
  }

  /** GET /clips/{id} once (no retries): the caller decides what a failure means. */
  clipStatus(clipId, signal) {
    return this.call("GET", `/clips/${clipId}`, { signal }).then((r) => r.body);
  }

  /**
   * PUT one chunk once; retries belong to the uploader, which resyncs between attempts. The
   * chunk's SHA-256 goes along so the server refuses bytes damaged on the way.
   */
  async putChunk(clipId, index, blob, signal) {
    const digest = await this.digest(blob);
    const headers = digest ? { "X-Chunk-Sha256": digest } : {};
    const response = await this.call("PUT", `/clips/${clipId}/chunks/${index}`, {
      raw: blob,
      signal,
      headers,
    });
    return response.body;
  }

  postEvents(clipId, events, signal) {
    return this.call("POST", `/clips/${clipId}/events`, { json: { events }, signal }).then(
      (r) => r.body,
    );
  }

  /** POST finish once; a 409 answer (chunks missing) is returned, not thrown. */
  finish(clipId, chunkCount, signal) {
    return this.call("POST", `/clips/${clipId}/finish`, {
      json: { chunk_count: chunkCount },
      accept: [409],
      signal,
    });
  }

  end(sessionId, status) {
    return this.request("POST", `/sessions/${sessionId}/end`, { json: { status } }).then(
      (r) => r.body,
    );
  }

  /** Where the "left the page" beacon goes (navigator.sendBeacon: no headers, so the token
   * travels in its body, see leaveMessage). */
  presenceUrl(sessionId) {
    return `${this.root}/sessions/${sessionId}/presence`;
  }

  /** The beacon's body: text/plain JSON, so a cross-origin beacon needs no preflight. */
  leaveMessage(seq, clips) {
    return JSON.stringify({ token: this.token, seq, present: false, clips });
  }

  /** A kept withdrawal as the page goes away (its token in the body, as for leaveMessage). */
  withdrawMessage(seq, token) {
    return JSON.stringify({ token, seq, present: false, clips: [], withdraw: true });
  }

  /** The page is shown again after its beacon: once, no retries (a lost one costs little). */
  back(sessionId, seq) {
    return this.call("POST", `/sessions/${sessionId}/presence`, {
      json: { seq, present: true },
    }).then((r) => r.body);
  }

  withdraw(sessionId) {
    return this.request("POST", `/sessions/${sessionId}/withdraw`, { json: {} }).then(
      (r) => r.body,
    );
  }
}
