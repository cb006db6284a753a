// "Copy" buttons beside embed snippets and links: <textarea data-copy> copies its text,
// <a data-copy> its address. The button says "Copied" for a moment; nothing else changes.
function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // Plain http on another host has no Clipboard API: fall back to a selected, hidden field.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

for (const source of document.querySelectorAll("[data-copy]")) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy-button";
  const label = source.dataset.copy || "Copy";
  button.textContent = label;
  button.addEventListener("click", () => {
    const text = source.tagName === "A" ? source.href : source.value ?? source.textContent;
    copyText(text).then(
      () => {
        button.textContent = "Copied";
        setTimeout(() => (button.textContent = label), 2000);
      },
      () => {
        button.textContent = "Select and copy by hand";
        if (source.select) source.select();
      },
    );
  });
  source.after(button);
}
