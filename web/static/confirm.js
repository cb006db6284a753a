// Forms that ask before they submit: <form data-confirm="Question?">. (A script file rather than
// an onsubmit attribute: the pages' Content-Security-Policy runs no inline script.)
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
