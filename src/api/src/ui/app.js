// Lading admin: a little enhancement on top of plain forms (the pages work without it).
// Served from /admin/static/app.js: the Content-Security-Policy allows no inline script.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // One submission per click: a double click must not send the form twice.
  if (form.dataset.sent === "1") {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  for (const b of form.querySelectorAll("button[type=submit]")) b.disabled = true;
});
// Filters apply as soon as a select changes.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.tagName === "SELECT" && el.form && el.form.classList.contains("filters")) el.form.requestSubmit();
});
