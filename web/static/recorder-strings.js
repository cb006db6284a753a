// The recorder-strings page: one field per string of the recorder's interface, prefilled with
// the saved translation or the English (a file, not an inline script: the pages' CSP).
import { flatStrings } from "/recorder/i18n.js";
const english = flatStrings("en");
const saved = JSON.parse(document.getElementById("saved-strings").textContent);
const fields = document.getElementById("strings-fields");
let translated = 0;
for (const [key, text] of Object.entries(english)) {
  const id = `s-${key.replaceAll(".", "-")}`;
  const field = document.createElement("div");
  field.className = "field";
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = text;
  const hint = document.createElement("p");
  hint.className = "hint";
  hint.textContent = key;
  const input = document.createElement("textarea");
  input.id = id;
  input.name = `s:${key}`;
  input.rows = text.length > 90 ? 3 : 1;
  input.value = saved[key] ?? text;
  input.dataset.english = text;
  if (saved[key] && saved[key] !== text) translated += 1;
  field.append(label, hint, input);
  fields.append(field);
}
document.getElementById("strings-count").textContent =
  `${Object.keys(english).length} strings to translate; ${translated} differ from the English.`;
