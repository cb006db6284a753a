// Retries with backoff on network errors and 5xx; never on a 4xx; the onShouldRetry hook.

import assert from "node:assert/strict";
import { test } from "node:test";

import { createHash } from "node:crypto";

import { HttpError, NetworkError, PanelApi, fetchTransport, sha256Hex } from "../src/api.js";
import { driveTo, FakeServer, setup } from "./fakes.js";

function scriptedApi(answers, extra = {}) {
  const calls = [];
  const slept = [];
  const api = new PanelApi({
    baseUrl: "https://candor.test/",
    transport: async (request) => {
      calls.push(request);
      const answer = answers.shift();
      if (answer === "network") throw new TypeError("Failed to fetch");
      return answer;
    },
    retryDelays: [100, 400, 1600],
    sleep: async (ms) => {
      slept.push(ms);
    },
    ...extra,
  });
  return { api, calls, slept };
}

test("network errors and 5xx are retried with the configured delays, then succeed", async () => {
  const { api, calls, slept } = scriptedApi([
    "network",
    { status: 503, body: { detail: "busy" } },
    { status: 500, body: null },
    { status: 201, body: { session_id: "s", token: "tok", consent: {}, ads: [] } },
  ]);
  const session = await api.startSession({
    integration: "k",
    respondentId: "r",
    passthrough: {},
    locale: "en",
  });
  assert.equal(session.session_id, "s");
  assert.deepEqual(slept, [100, 400, 1600]);
  assert.equal(calls.length, 4);
  assert.equal(calls[0].url, "https://candor.test/api/v1/panel/sessions");
  assert.equal(api.token, "tok");
});

test("retries stop after the last delay and the last error is raised", async () => {
  const { api, calls, slept } = scriptedApi(
    Array(10).fill({ status: 502, body: { detail: "bad gateway" } }),
  );
  await assert.rejects(api.end("s", "complete"), (error) => {
    assert.ok(error instanceof HttpError);
    assert.equal(error.status, 502);
    assert.match(error.message, /POST \/sessions\/s\/end answered 502: bad gateway/);
    return true;
  });
  assert.equal(calls.length, 4, "one try plus one retry per delay");
  assert.deepEqual(slept, [100, 400, 1600]);
});

for (const status of [400, 401, 403, 404, 409, 413, 422, 429]) {
  test(`a ${status} is not retried`, async () => {
    const { api, calls, slept } = scriptedApi([
      { status, body: { detail: "no" } },
      { status: 200, body: {} },
    ]);
    await assert.rejects(
      api.end("s", "complete"),
      (error) => error instanceof HttpError && error.status === status,
    );
    assert.equal(calls.length, 1);
    assert.deepEqual(slept, []);
  });
}

test("onShouldRetry has the last word and sees the error, attempt and default decision", async () => {
  const seen = [];
  const { api, calls } = scriptedApi(
    ["network", "network", { status: 200, body: { status: "withdrawn" } }],
    {
      onShouldRetry: (error, attempt, byDefault) => {
        seen.push([error.name, attempt, byDefault]);
        return attempt < 2;
      },
    },
  );
  await assert.rejects(api.withdraw("s"), NetworkError);
  assert.equal(calls.length, 2);
  assert.deepEqual(seen, [
    ["NetworkError", 1, true],
    ["NetworkError", 2, true],
  ]);
});

test("the bearer token is sent on every call after the session starts", async () => {
  const { api, calls } = scriptedApi([
    { status: 201, body: { session_id: "s", token: "tok-9", consent: {}, ads: [] } },
    { status: 200, body: { status: "withdrawn" } },
  ]);
  await api.startSession({ integration: "k", respondentId: "r", passthrough: {}, locale: "en" });
  await api.withdraw("s");
  assert.equal(calls[0].headers.Authorization, undefined);
  assert.equal(calls[1].headers.Authorization, "Bearer tok-9");
});

test("fetchTransport sends JSON or raw bytes, parses JSON answers, omits cookies", async () => {
  const seen = [];
  const fakeFetch = async (url, init) => {
    seen.push({ url, init });
    return { status: 201, text: async () => '{"index": 3, "bytes": 5}' };
  };
  const transport = fetchTransport({ fetchImpl: fakeFetch });
  const blob = new Blob(["hello"]);
  const answer = await transport({ method: "PUT", url: "/x", headers: { A: "b" }, body: blob });
  assert.deepEqual(answer, { status: 201, body: { index: 3, bytes: 5 } });
  assert.equal(seen[0].init.body, blob);
  assert.equal(seen[0].init.credentials, "omit");
  const html = fetchTransport({
    fetchImpl: async () => ({ status: 502, text: async () => "<html>Bad gateway</html>" }),
  });
  assert.deepEqual(await html({ method: "GET", url: "/y", headers: {} }), {
    status: 502,
    body: { detail: "<html>Bad gateway</html>" },
  });
});

test("a session start answered 503 twice still reaches the consent screen", async () => {
  const server = new FakeServer();
  server.script(({ path }) => path === "/sessions", 503, 2);
  const t = setup({ server });
  await driveTo(t, "consent");
  assert.equal(server.requests.filter((r) => r.path === "/sessions").length, 3);
});

test("a consent for a text that is not the one shown (400) fails, and is not retried", async () => {
  const server = new FakeServer();
  const t = setup({ server });
  await driveTo(t, "consent");
  t.recorder.consent = { ...t.recorder.consent, sha256: "0".repeat(64) };
  await t.recorder.agree();
  assert.equal(t.recorder.state, "failed");
  assert.equal(server.requests.filter((r) => r.path.endsWith("/consent")).length, 1);
  assert.match(t.seen.errors.find((e) => e.code === "failed").message, /400: text sha256 mismatch/);
  assert.equal(t.camera.calls.length, 0);
});

test("sha256Hex is the hex SHA-256 of the blob's bytes (Web Crypto)", async () => {
  const bytes = new Uint8Array([0, 1, 2, 250, 255]);
  const expected = createHash("sha256").update(bytes).digest("hex");
  assert.equal(await sha256Hex(new Blob([bytes])), expected);
});

test("a preview run says so when it starts the session; a panelist's start does not", async () => {
  const previewRun = setup({ options: { preview: true } });
  await driveTo(previewRun, "consent");
  const body = JSON.parse(previewRun.server.requests[0].body);
  assert.equal(previewRun.server.requests[0].path, "/sessions");
  assert.deepEqual(body, {
    integration: "pk_test",
    respondent_id: "resp 42/é",
    passthrough: { age: "25-34" },
    locale: "en",
    preview: true,
  });
  const panelist = setup();
  await driveTo(panelist, "consent");
  assert.equal("preview" in JSON.parse(panelist.server.requests[0].body), false);
});
