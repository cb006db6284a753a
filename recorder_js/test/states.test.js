// The state machine: the happy path, refusals in the wrong state, consent before camera.

import assert from "node:assert/strict";
import { test } from "node:test";

import { canTransition, State } from "../src/states.js";
import { CandorRecorder } from "../src/recorder.js";
import { driveTo, setup } from "./fakes.js";

test("the happy path visits every state in order and ends complete", async () => {
  const t = setup();
  await driveTo(t, "ready");
  const played = t.recorder.play();
  await t.clock.until(() => t.recorder.state === "done");
  assert.equal(await played, true);
  const visited = t.seen.states.filter((s) => s.state !== s.previous).map((s) => s.state);
  assert.deepEqual(visited, [
    "consent",
    "camera",
    "preflight",
    "ready",
    "playing",
    "draining",
    "done",
  ]);
  assert.equal(t.recorder.status, "complete");
  assert.equal(t.server.session.status, "complete");
  assert.deepEqual(t.seen.errors, []);
});

test("every transition the recorder makes is in the table; terminal states lead nowhere", () => {
  assert.ok(canTransition("idle", "consent"));
  assert.ok(!canTransition("idle", "playing"));
  assert.ok(!canTransition("consent", "preflight"), "no camera before the camera step");
  assert.ok(canTransition("playing", "withdrawn"));
  assert.ok(!canTransition("consent", "withdrawn"), "nothing to withdraw before agreeing");
  for (const terminal of ["done", "declined", "withdrawn", "failed"]) {
    for (const to of Object.values(State)) {
      if (terminal === "done" && to === "withdrawn") continue; // delete after completing
      if (terminal === "failed" && to === "withdrawn") continue;
      assert.ok(!canTransition(terminal, to), `${terminal} → ${to}`);
    }
  }
});

test("a call in the wrong state emits an error event and does not throw", async () => {
  const t = setup();
  const refused = [];
  t.recorder.on("error", (e) => refused.push(e));
  assert.equal(await t.recorder.agree(), false);
  assert.equal(await t.recorder.play(), false);
  assert.equal(await t.recorder.enableCamera(), false);
  assert.equal(await t.recorder.checkPreflight(), false);
  assert.equal(await t.recorder.withdraw(), false);
  assert.equal(await t.recorder.continueWithoutCamera(), false);
  assert.equal(t.recorder.returnToSurvey(), "refused");
  assert.equal(t.recorder.state, "idle");
  assert.deepEqual(
    refused.map((e) => e.code),
    [
      "invalid_state",
      "invalid_state",
      "invalid_state",
      "invalid_state",
      "invalid_state",
      "invalid_state",
      "invalid_state",
    ],
  );
  assert.match(refused[0].message, /agree\(\) is not allowed in state "idle"/);
  assert.equal(t.seen.errors.length, refused.length, "onError gets the same events");
  assert.equal(t.server.requests.length, 0);
});

test("a double click while a step runs is refused as busy, and the step happens once", async () => {
  const t = setup();
  await driveTo(t, "consent");
  const first = t.recorder.agree();
  const second = t.recorder.agree();
  assert.equal(await second, false);
  await t.clock.until(() => t.recorder.state === "camera");
  assert.equal(await first, true);
  assert.equal(t.seen.errors[0].code, "busy");
  const consents = t.server.requests.filter((r) => r.path.endsWith("/consent"));
  assert.equal(consents.length, 1);
});

test("no getUserMedia before the panelist agrees; the consent text is the API's, localised", async () => {
  const t = setup({ options: { locale: "fr-CA" } });
  await driveTo(t, "consent");
  assert.equal(t.camera.calls.length, 0);
  assert.equal(t.recorder.locale, "fr");
  assert.match(t.recorder.consent.text, /J'accepte/);
  assert.equal(t.recorder.strings.agree, "J'accepte");
  const start = JSON.parse(t.server.requests[0].body);
  assert.deepEqual(start, {
    integration: "pk_test",
    respondent_id: "resp 42/é",
    passthrough: { age: "25-34" },
    locale: "fr-CA", // the whole tag: the designer may have written a fr-CA text
  });
  await t.recorder.agree();
  assert.equal(t.camera.calls.length, 0, "agreeing alone does not touch the camera");
  const consent = JSON.parse(t.server.requests[1].body);
  assert.deepEqual(consent, {
    consent_text_id: 12,
    text_sha256: "f".repeat(64),
    locale: "fr",
    decision: "agree",
  });
  const enabling = t.recorder.enableCamera();
  await t.clock.until(() => t.recorder.state === "preflight");
  await enabling;
  assert.equal(t.camera.calls.length, 1);
  assert.deepEqual(t.camera.calls[0].audio, false, "no microphone, ever");
});

test("decline records the refusal, never touches the camera and returns with declined", async () => {
  const t = setup();
  await driveTo(t, "consent");
  await t.recorder.decline("not today");
  assert.equal(t.recorder.state, "declined");
  assert.equal(t.camera.calls.length, 0);
  const body = JSON.parse(t.server.requests.at(-1).body);
  assert.equal(body.decision, "decline");
  assert.equal(body.reason, "not today");
  assert.equal(t.seen.navigations.length, 1);
  assert.equal(t.seen.navigations[0].status, "declined");
  assert.equal(
    t.seen.navigations[0].url,
    "https://survey.example/back?rid=resp%2042%2F%C3%A9&status=declined&r=",
  );
});

test("an unknown integration fails clearly at start", async () => {
  const t = setup({ options: { integration: "pk_nope" } });
  await t.recorder.start();
  assert.equal(t.recorder.state, "failed");
  const failure = t.seen.errors.find((e) => e.code === "failed");
  assert.match(failure.message, /404: unknown integration/);
  assert.equal(t.recorder.returnUrl, null, "no session, so no return URL");
});

test("options are checked where they enter", () => {
  assert.throws(() => new CandorRecorder({}), /`integration` is required/);
  assert.throws(
    () => new CandorRecorder({ integration: "k", retryDelays: "fast", env: { document: null } }),
    /retryDelays/,
  );
  // The server bounds a clip at 4 chunks per second of its ad: a faster slice would be refused.
  assert.throws(
    () => new CandorRecorder({ integration: "k", chunkMs: 100, env: { document: null } }),
    /`chunkMs` must be at least 250/,
  );
  assert.doesNotThrow(
    () => new CandorRecorder({ integration: "k", chunkMs: 250, env: { document: null } }),
  );
});

test("the preflight must pass; after a few failed tries the panelist may continue without camera", async () => {
  const t = setup({ options: { preflightMaxTries: 2 } });
  await driveTo(t, "preflight");
  const dark = { light: false, face: true };
  t.frameVerdicts.push(...Array(5).fill(dark));
  let checking = t.recorder.checkPreflight();
  await t.clock.until(() => t.recorder.busy === null);
  await checking;
  assert.equal(t.recorder.state, "preflight");
  assert.deepEqual(t.recorder.preflight.last, { light: false, face: true });
  assert.equal(t.recorder.preflight.canSkip, false);
  assert.equal(await t.recorder.continueWithoutCamera(), false, "not before a few tries");
  t.frameVerdicts.push(...Array(5).fill({ light: true, face: false }));
  checking = t.recorder.checkPreflight();
  await t.clock.until(() => t.recorder.busy === null);
  await checking;
  assert.equal(t.recorder.preflight.canSkip, true);
  assert.equal(t.camera.live, 1, "the preview stays on while checking");
  const skipping = t.recorder.continueWithoutCamera();
  await t.clock.until(() => t.recorder.ended);
  await skipping;
  assert.equal(t.camera.live, 0);
  assert.equal(t.recorder.state, "no_camera");
  assert.equal(t.recorder.cameraError, "preflight");
  assert.equal(t.server.session.status, "no_camera");
  assert.equal(t.seen.navigations.at(-1).status, "no_camera");
});

test("a passed preflight switches the camera off until the first ad", async () => {
  const t = setup();
  await driveTo(t, "preflight");
  assert.equal(t.camera.live, 1);
  assert.equal(t.preview.srcObject, t.camera.streams[0]);
  // Majority of frames decides: 3 of 5 good frames pass.
  t.frameVerdicts.push(
    { light: true, face: true },
    { light: false, face: false },
    { light: true, face: true },
    null, // no frame yet: not counted
    { light: true, face: true },
  );
  const checking = t.recorder.checkPreflight();
  await t.clock.until(() => t.recorder.busy === null);
  await checking;
  assert.equal(t.recorder.state, "ready");
  assert.equal(t.camera.live, 0);
  assert.equal(t.preview.srcObject, null);
});

test("camera light: on only while an ad is recorded, off between ads and at the end", async () => {
  const t = setup({ options: { betweenAdsMs: 2000 } });
  await driveTo(t, "ready");
  const samples = [];
  t.recorder.on("state", ({ detail }) =>
    samples.push({ phase: detail.phase, live: t.camera.live, recording: t.recorder.recording }),
  );
  const playing = t.recorder.play();
  await t.clock.until(() => t.recorder.detail.phase === "between");
  assert.equal(t.camera.live, 0, "off between ads");
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
  assert.equal(t.camera.live, 0, "off at the end");
  assert.equal(t.camera.streams.length, 3, "preview + one stream per ad");
  for (const sample of samples.filter((s) => s.phase === "recording")) assert.equal(sample.live, 1);
  for (const sample of samples.filter((s) => s.phase === "between" || s.phase === "stopped")) {
    assert.equal(sample.live, 0);
  }
});

test("autoplay refused: back to ready, camera off, Play resumes the same ad", async () => {
  const t = setup({ video: { autoplayBlocked: true } });
  await driveTo(t, "ready");
  await t.recorder.play();
  await t.clock.until(() => t.recorder.state === "ready");
  assert.equal(t.recorder.detail.autoplayBlocked, true);
  assert.equal(t.recorder.adIndex, 0);
  assert.equal(t.camera.live, 0);
  t.video.autoplayBlocked = false;
  const playing = t.recorder.play();
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
  assert.equal(t.server.clips.size, 2);
  assert.equal(t.server.clipFor(101).chunks.size, t.server.clipFor(101).chunkCount);
});

test("a language the recorder does not speak still reaches the server for the consent text", async () => {
  const t = setup({ options: { locale: "de" } });
  await driveTo(t, "consent");
  assert.equal(JSON.parse(t.server.requests[0].body).locale, "de");
  assert.equal(
    t.recorder.strings.agree,
    "I agree",
    "the recorder's own words fall back to English",
  );
});

test("the server's honest status wins: no usable clip ends 'incomplete', and the survey hears it", async () => {
  const t = setup();
  t.server.returnUrlTemplate = "https://survey.example/back?s={status}&r={receipt}";
  t.server.endsIncomplete = true;
  await driveTo(t, "ready");
  const played = t.recorder.play();
  await t.clock.until(() => t.recorder.state === "done");
  assert.equal(await played, true);
  assert.equal(t.recorder.status, "incomplete");
  assert.equal(t.recorder.returnUrl, "https://survey.example/back?s=incomplete&r=RC-7Q2X");
  t.recorder.returnToSurvey();
  assert.equal(t.seen.returns.at(-1).status, "incomplete");
});

test("what the footer's words rest on: nothing held before the first ad, something after", async () => {
  const t = setup();
  await driveTo(t, "ready");
  assert.equal(t.recorder.hasRecorded, false, "camera checked, nothing recorded");
  const played = t.recorder.play();
  await t.clock.until(() => t.recorder.recording);
  assert.equal(t.recorder.hasRecorded, true);
  await t.clock.until(() => t.recorder.state === "done");
  await played;
  assert.equal(t.recorder.hasRecorded, true, "ended: something is held, nothing records");
});

test("on-device fallback: asked only after a failed preflight; video only after agreeing", () => {
  assert.equal(canTransition(State.PREFLIGHT, State.FALLBACK), true);
  assert.equal(canTransition(State.CONSENT, State.FALLBACK), false);
  assert.equal(canTransition(State.CAMERA, State.FALLBACK), false);
  // From the question: agree turns the camera on (for video), no is the polite exit.
  assert.equal(canTransition(State.FALLBACK, State.CAMERA), true);
  assert.equal(canTransition(State.FALLBACK, State.NO_CAMERA), true);
  assert.equal(canTransition(State.FALLBACK, State.READY), false);
  assert.equal(canTransition(State.FALLBACK, State.PLAYING), false);
  // The panelist agreed to the on-device text already: they may withdraw from here too.
  assert.equal(canTransition(State.FALLBACK, State.WITHDRAWN), true);
});
