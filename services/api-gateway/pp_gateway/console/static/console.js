// PolicyPulse console: the one script. Live preview of an alert rule while its form changes
// (the API's preview endpoint, through the console), sent with the page's CSRF token.
"use strict";
(function () {
  const form = document.getElementById("rule-form");
  if (!form) return;
  const target = document.getElementById("preview");
  const button = document.getElementById("preview-button");
  let timer = null;
  let sent = 0;
  async function preview() {
    const number = ++sent;
    const body = new URLSearchParams(new FormData(form));
    const token = form.querySelector("input[name=csrf_token]").value;
    target.setAttribute("aria-busy", "true");
    try {
      const answer = await fetch(form.dataset.preview, {
        method: "POST",
        body: body,
        headers: { "X-CSRF-Token": token },
        credentials: "same-origin",
      });
      const html = await answer.text();
      if (number === sent) target.innerHTML = html;
    } catch (error) {
      if (number === sent) target.textContent = "The preview could not be loaded: " + error.message;
    } finally {
      if (number === sent) target.removeAttribute("aria-busy");
    }
  }
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(preview, 400);
  }
  button.addEventListener("click", preview);
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
})();
