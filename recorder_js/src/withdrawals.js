// Withdrawals that must reach the server, however long it takes.
//
// "Stop and delete my recording" is kept in the chunk store (IndexedDB) before the panelist is
// told anything, and sent until the server acknowledges it: at once, then whenever the server
// answers a probe again (Connectivity: the `online` event and a periodic GET /ping), and at the
// next load of any page that loads the recorder on this origin, even with the tab closed in
// between. Each record carries what it needs to be sent from another page: Candor's origin, the
// session's bearer token and the receipt code. The token expires (session_token_ttl_seconds);
// then the receipt code erases the same session through POST /erase.

import { AbortedError, HttpError, PanelApi } from "./api.js";

export const Sent = Object.freeze({
  ERASED: "erased", // the server acknowledged the withdrawal (or the erasure by receipt)
  GONE: "gone", // the server has no such session any more: nothing left to erase
  LATER: "later", // no answer, or a 5xx/429: keep it and try again
});

/** Send one kept withdrawal once (no retries here); the record is dropped unless LATER. */
export async function sendWithdrawal(store, record, { transport, sleep, signal }) {
  const api = new PanelApi({ baseUrl: record.baseUrl || "", transport, retryDelays: [], sleep });
  api.token = record.token;
  let outcome;
  try {
    await api.call("POST", `/sessions/${record.session}/withdraw`, { json: {}, signal });
    outcome = Sent.ERASED;
  } catch (error) {
    outcome = await afterRefusal(api, record, error, signal);
  }
  if (outcome !== Sent.LATER) await store.dropWithdrawal(record.session);
  return outcome;
}

async function afterRefusal(api, record, error, signal) {
  if (error instanceof AbortedError) throw error;
  if (!isFinal(error)) return Sent.LATER;
  if (error.status === 404) return Sent.GONE;
  // The token expired or was replaced: the receipt code erases the same session from anywhere.
  if ((error.status === 401 || error.status === 403) && record.receipt) {
    api.token = null;
    try {
      await api.call("POST", "/erase", { json: { receipt_code: record.receipt }, signal });
      return Sent.ERASED;
    } catch (byReceipt) {
      if (byReceipt instanceof AbortedError) throw byReceipt;
      if (!isFinal(byReceipt)) return Sent.LATER;
      return Sent.GONE;
    }
  }
  // Any other 4xx would be refused again: not retried (the receipt code still erases).
  return Sent.GONE;
}

/** A 4xx other than 408/429 is the server's last word; everything else may change. */
function isFinal(error) {
  return (
    error instanceof HttpError &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 408 &&
    error.status !== 429
  );
}

/** Send every kept withdrawal once; resolves to {session: outcome}. Never rejects. */
export async function sendKeptWithdrawals(store, { transport, sleep, signal }) {
  const outcomes = {};
  for (const record of await store.loadWithdrawals()) {
    try {
      outcomes[record.session] = await sendWithdrawal(store, record, { transport, sleep, signal });
    } catch {
      outcomes[record.session] = Sent.LATER;
    }
  }
  return outcomes;
}
