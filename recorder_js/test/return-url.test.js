// Filling the return URL, and going back from a top-level page or an iframe.

import assert from "node:assert/strict";
import { test } from "node:test";

import { erasureUrl, fillReturnUrl, goBack, isFramed, parentOriginOf } from "../src/return-url.js";
import { driveTo, FakeServer, setup } from "./fakes.js";

test("placeholders are replaced, URL-encoded, every occurrence", () => {
  const url = fillReturnUrl(
    "https://s.example/r?id={respondent_id}&s={status}&c={receipt}&again={status}",
    {
      respondentId: "a b&c=d/é",
      status: "complete",
      receipt: "RC-1",
    },
  );
  assert.equal(
    url,
    "https://s.example/r?id=a%20b%26c%3Dd%2F%C3%A9&s=complete&c=RC-1&again=complete",
  );
  assert.equal(fillReturnUrl("", { status: "x" }), null);
  assert.equal(fillReturnUrl(null, { status: "x" }), null);
  assert.equal(
    fillReturnUrl("https://s.example/{receipt}", { status: "declined" }),
    "https://s.example/",
  );
});

test("Qualtrics and LimeSurvey style templates", () => {
  const q = "https://eu.qualtrics.com/jfe/form/SV_x?rid={respondent_id}&candor={status}";
  assert.equal(
    fillReturnUrl(q, { respondentId: "R_1", status: "no_camera" }),
    "https://eu.qualtrics.com/jfe/form/SV_x?rid=R_1&candor=no_camera",
  );
  const l =
    "https://ls.example/index.php/123456?token={respondent_id}&candor_status={status}&newtest=N";
  assert.equal(
    fillReturnUrl(l, { respondentId: "tok", status: "withdrawn" }),
    "https://ls.example/index.php/123456?token=tok&candor_status=withdrawn&newtest=N",
  );
});

function fakeWindow({ framed, topThrows = false }) {
  const messages = [];
  const assigned = [];
  const win = { location: { assign: (url) => assigned.push(url) } };
  win.self = win;
  if (framed) {
    win.parent = { postMessage: (data, origin) => messages.push({ data, origin }) };
    win.top = {
      location: {
        set href(url) {
          if (topThrows) throw new DOMException("blocked", "SecurityError");
          assigned.push(`top:${url}`);
        },
      },
    };
  } else {
    win.top = win;
    win.parent = win;
  }
  return { win, messages, assigned };
}

test("top-level page: navigates to the URL", () => {
  const { win, assigned } = fakeWindow({ framed: false });
  assert.equal(isFramed(win), false);
  assert.equal(goBack(win, { url: "https://s.example/x", status: "complete" }), "navigated");
  assert.deepEqual(assigned, ["https://s.example/x"]);
});

test("iframe: posts candor:return to the parent, then navigates the top window if allowed", () => {
  const { win, messages, assigned } = fakeWindow({ framed: true });
  assert.equal(isFramed(win), true);
  const how = goBack(win, {
    url: "https://s.example/x",
    status: "complete",
    receipt: "RC",
    parentOrigin: "https://s.example",
  });
  assert.equal(how, "top");
  assert.deepEqual(messages, [
    {
      data: {
        type: "candor:return",
        status: "complete",
        url: "https://s.example/x",
        receipt: "RC",
      },
      origin: "https://s.example",
    },
  ]);
  assert.deepEqual(assigned, ["top:https://s.example/x"]);
});

test("iframe that may not navigate its top window: blocked, the page shows a link instead", () => {
  const { win, messages } = fakeWindow({ framed: true, topThrows: true });
  assert.equal(goBack(win, { url: "https://s.example/x", status: "declined" }), "blocked");
  assert.equal(messages.length, 1);
  assert.equal(messages[0].origin, "*");
});

test("the parent's origin comes from the referrer", () => {
  assert.equal(
    parentOriginOf({ referrer: "https://host.example/page?q=1" }),
    "https://host.example",
  );
  assert.equal(parentOriginOf({ referrer: "" }), "*");
  assert.equal(parentOriginOf({ referrer: "not a url" }), "*");
});

test("the recorder fills the return URL with its raw respondent id, status and receipt", async () => {
  const t = setup();
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
  assert.equal(t.seen.navigations.length, 0, "done waits for the panelist to read the receipt");
  assert.equal(t.recorder.returnToSurvey(), "navigated");
  assert.equal(
    t.seen.navigations[0].url,
    "https://survey.example/back?rid=resp%2042%2F%C3%A9&status=complete&r=RC-7Q2X",
  );
  assert.deepEqual(t.seen.returns[0], t.seen.navigations[0]);
});

test("onReturn replaces the navigation; a missing respondent id gets a random one", async () => {
  const returned = [];
  const t = setup({ options: { respondentId: null, onReturn: (p) => returned.push(p) } });
  await driveTo(t, "consent");
  assert.equal(JSON.parse(t.server.requests[0].body).respondent_id, "random-id");
  await t.recorder.decline();
  assert.equal(returned.length, 1);
  assert.equal(returned[0].url, "https://survey.example/back?rid=random-id&status=declined&r=");
  assert.equal(t.seen.navigations.length, 0);
});

test("no return URL template: nothing to navigate to", async () => {
  const t = setup({ server: new FakeServer({ returnUrlTemplate: "" }) });
  await driveTo(t, "consent");
  await t.recorder.decline();
  assert.equal(t.recorder.returnUrl, null);
  assert.equal(t.seen.navigations[0].url, null);
});

test("complete without a return URL tells the host at once; with one, it waits for a click", async () => {
  const t = setup({ server: new FakeServer({ returnUrlTemplate: "" }) });
  await driveTo(t, "ready");
  const playing = t.recorder.play();
  await t.clock.until(() => t.recorder.state === "done");
  await playing;
  assert.deepEqual(t.seen.navigations, [
    { status: "complete", url: null, receipt: "RC-7Q2X", parentOrigin: null },
  ]);
});

test("the erasure page is on Candor's origin, in the panelist's language", () => {
  assert.equal(
    erasureUrl("https://candor.example/", "fr", "https://survey.example"),
    "https://candor.example/erase?locale=fr",
  );
  // Served from Candor itself (baseUrl ""): the page's own origin.
  assert.equal(
    erasureUrl("", "en", "http://127.0.0.1:8000"),
    "http://127.0.0.1:8000/erase?locale=en",
  );
  assert.equal(erasureUrl("", "en", "null"), null, "no address to show from an opaque origin");
});
