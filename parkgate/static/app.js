// Page glue kept out of inline scripts so the Content-Security-Policy can forbid them.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  document.body.addEventListener("htmx:configRequest", function (evt) {
    if (meta) { evt.detail.headers["X-CSRFToken"] = meta.content; }
  });
  // Show a banner while the live stream is down, so an operator never trusts a frozen screen.
  document.body.addEventListener("htmx:sseError", function () {
    document.body.classList.add("stream-down");
  });
  // On every (re)connection, refresh the live panels: whatever happened while the
  // stream was not yet open (or was down) must not be missing from the screen.
  document.body.addEventListener("htmx:sseOpen", function () {
    document.body.classList.remove("stream-down");
    document.body.setAttribute("data-stream", "open");
    document.querySelectorAll('[hx-trigger*="sse:"]').forEach(function (el) {
      var names = el.getAttribute("hx-trigger").match(/sse:[\w.-]+/g) || [];
      names.forEach(function (name) { htmx.trigger(el, name); });
    });
  });
  document.addEventListener("click", function (evt) {
    if (evt.target.closest && evt.target.closest("[data-print]")) { window.print(); }
  });
  // Buttons that need a confirmation carry data-confirm (no inline handlers).
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { evt.preventDefault(); }
  }, true);
})();
