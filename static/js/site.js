/* Dispute Desk: the little the pages do in the browser. No inline script
   anywhere (Content-Security-Policy: script-src 'self'). */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // The language switch submits its form as soon as a language is chosen.
  for (const select of document.querySelectorAll("select[data-submit-on-change]")) {
    select.addEventListener("change", () => select.form.submit());
  }
});
