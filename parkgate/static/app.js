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
  // Forms, or the one button of a form, that need a confirmation carry data-confirm
  // (no inline handlers).
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var button = evt.submitter;
    var message = (button && button.getAttribute("data-confirm")) ||
      (form.getAttribute && form.getAttribute("data-confirm"));
    if (message && !window.confirm(message)) { evt.preventDefault(); }
  }, true);

  // --- the booth: open any passage, come back to live, hear a new hold -------------------
  var booth = document.getElementById("booth");
  if (booth) {
    var current = document.getElementById("current");
    var lane = booth.getAttribute("data-lane");
    // A refused form is answered at the form's address (POST only): put the booth's own
    // address back, so a reload or a language switch shows the booth, not an error.
    if (booth.getAttribute("data-page")) {
      window.history.replaceState(null, "", booth.getAttribute("data-page"));
    }
    var soundKey = "parkgate.booth.sound";
    var seenKey = "parkgate.booth.newest." + lane;
    var sound = document.getElementById("sound-toggle");
    if (sound) {
      sound.checked = window.localStorage.getItem(soundKey) === "1";
      sound.addEventListener("change", function () {
        window.localStorage.setItem(soundKey, sound.checked ? "1" : "0");
      });
    }
    // #current shows the passage the operator opened (data-selected), else the newest.
    document.body.addEventListener("htmx:configRequest", function (evt) {
      if (evt.detail.elt === current && current.getAttribute("data-selected")) {
        evt.detail.parameters.passage = current.getAttribute("data-selected");
      }
    });
    var pin = function (id) {
      current.setAttribute("data-selected", id || "");
      var url = new URL(window.location.href);
      if (id) { url.searchParams.set("passage", id); } else { url.searchParams.delete("passage"); }
      window.history.replaceState(null, "", url.toString());
    };
    var show = function (id) {
      pin(id);
      htmx.trigger(current, "sse:passage");
      if (id) { current.scrollIntoView({block: "start"}); }
    };
    // In the live view, typing into a vehicle's form holds that vehicle on screen: the
    // next read must not swap another truck under the operator's reason and buttons.
    current.addEventListener("input", function (evt) {
      var decision = document.getElementById("decision");
      if (current.getAttribute("data-selected") || !decision || !evt.target.closest("form")) {
        return;
      }
      if (evt.target.value) { pin(decision.getAttribute("data-passage")); }
    });
    document.addEventListener("click", function (evt) {
      var opener = evt.target.closest && evt.target.closest("[data-open-passage]");
      if (opener && booth.contains(opener) && !evt.target.closest("form")) {
        evt.preventDefault();
        show(opener.getAttribute("data-open-passage"));
      } else if (evt.target.closest && evt.target.closest("[data-live]")) {
        show(null);
      }
    });
    document.addEventListener("keydown", function (evt) {
      var row = evt.target.closest && evt.target.closest("tr[data-open-passage]");
      if (row && evt.key === "Enter") { show(row.getAttribute("data-open-passage")); }
    });
    var beep = function () {
      try {
        var ctx = new (window.AudioContext || window.webkitAudioContext)();
        var osc = ctx.createOscillator();
        osc.frequency.value = 880;
        osc.connect(ctx.destination);
        osc.start();
        osc.stop(ctx.currentTime + 0.25);
      } catch (e) { /* no audio here: the visual cue stands */ }
    };
    // A hold newer than any this screen has seen announces itself.
    document.body.addEventListener("htmx:afterSwap", function (evt) {
      var list = document.getElementById("pending-list");
      if (!list || evt.detail.target.id !== "pending-body") { return; }
      var count = document.getElementById("pending-count");
      var n = count ? count.getAttribute("data-count") : "0";
      document.title = document.title.replace(/^\(\d+\) /, "");
      if (n !== "0") { document.title = "(" + n + ") " + document.title; }
      var newest = parseInt(list.getAttribute("data-newest") || "0", 10);
      var seen = parseInt(window.sessionStorage.getItem(seenKey) || "0", 10);
      if (newest > seen) {
        window.sessionStorage.setItem(seenKey, String(newest));
        if (seen > 0 || booth.getAttribute("data-announced") === "1") {
          var card = document.getElementById("pending");
          card.classList.remove("announce");
          void card.offsetWidth;  // restart the animation
          card.classList.add("announce");
          card.setAttribute("data-announce", String(newest));
          if (sound && sound.checked) { beep(); }
        }
      }
      booth.setAttribute("data-announced", "1");
    });
  }
})();
