// Every interface string exists in every locale, with the same shape.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  flatStrings,
  LOCALES,
  requestLocale,
  resolveLocale,
  strings,
  withTranslations,
} from "../src/i18n.js";

function shape(value) {
  if (typeof value === "function") return `function/${value.length}`;
  if (Array.isArray(value)) return "array";
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, shape(value[key])]),
    );
  }
  return typeof value;
}

test("English and French at least, with the same keys and kinds of value", () => {
  assert.ok(LOCALES.includes("en") && LOCALES.includes("fr"));
  const reference = shape(strings("en"));
  for (const locale of LOCALES) assert.deepEqual(shape(strings(locale)), reference, locale);
  for (const locale of LOCALES) {
    const s = strings(locale);
    for (const kind of Object.keys(s.noCameraTitle))
      assert.ok(s.noCameraSteps[kind].length, `${locale} ${kind}`);
  }
});

test("locale tags resolve to a supported language, English otherwise", () => {
  assert.equal(resolveLocale("fr-CA"), "fr");
  assert.equal(resolveLocale("FR_fr"), "fr");
  assert.equal(resolveLocale("en-GB"), "en");
  assert.equal(resolveLocale("de"), "en");
  assert.equal(resolveLocale(undefined), "en");
  assert.equal(strings("fr").agree, "J'accepte");
  assert.equal(strings("fr").playingLabel(1, 2), "Publicité 1 sur 2");
});

test("the locale sent to the server keeps the panelist's whole tag when the API accepts it", () => {
  assert.equal(requestLocale("de"), "de");
  assert.equal(requestLocale("pt-BR"), "pt-BR");
  assert.equal(requestLocale(" fr_CA "), "fr_CA");
  assert.equal(requestLocale("ZH-S"), "ZH", "Qualtrics' one-letter variant: the language part");
  assert.equal(requestLocale("${e://Field/Q_Language}"), null, "an unfilled placeholder");
  assert.equal(requestLocale(""), null);
  assert.equal(requestLocale(undefined), null);
});

test("flatStrings lists every interface string, templates for those that take values", () => {
  const flat = flatStrings("en");
  assert.equal(flat.agree, "I agree");
  assert.equal(flat["noCameraTitle.denied"], "Camera access was blocked");
  assert.equal(flat["noCameraSteps.busy.1"], "Then press Try again.");
  assert.equal(flat.playingLabel, "Ad {i} of {n}");
  assert.equal(flat.adsCount, "{n} ads");
  assert.ok(Object.values(flat).every((text) => typeof text === "string" && text));
});

test("a designer's translation replaces the strings it gives and leaves the rest", () => {
  const german = withTranslations(strings("en"), {
    agree: "Ich stimme zu",
    playingLabel: "Werbung {i} von {n}",
    "noCameraSteps.busy.1": "Dann auf Erneut versuchen drücken.",
    "noCameraTitle.denied": "Kamerazugriff blockiert",
    decline: "   ",
    notAString: "ignored",
    "agree.deeper": "ignored",
  });
  assert.equal(german.agree, "Ich stimme zu");
  assert.equal(german.playingLabel(1, 2), "Werbung 1 von 2");
  assert.equal(german.noCameraSteps.busy[1], "Dann auf Erneut versuchen drücken.");
  assert.equal(german.noCameraTitle.denied, "Kamerazugriff blockiert");
  assert.equal(german.decline, "No thanks", "an empty text keeps the English");
  assert.equal(german.notAString, undefined);
  assert.equal(strings("en").agree, "I agree", "the built-in strings are untouched");
  assert.equal(german.adsCount(3), "3 ads");
});
