// BotPanel: the list's queues panel (hide it, remembered per person) and the new-leads bar's
// poll, which asks only while the tab is visible. CSP-safe: no eval, no inline handlers; the
// bar's hx-trigger is a custom event ("bp-poll") this file sends.
(function () {
  "use strict";

  var YEAR = 365 * 24 * 3600;

  // The list's "Hide queues" button (leads/list.html): the panel beside the list from 992 px.
  function setupFold() {
    var button = document.getElementById("side-panel-toggle");
    var layout = document.getElementById("list-layout");
    if (!button || !layout) { return; }
    button.addEventListener("click", function () {
      var hidden = layout.classList.toggle("panel-hidden");
      button.setAttribute("aria-expanded", hidden ? "false" : "true");
      button.textContent = (hidden ? "Show" : "Hide") + " queues";
      // The server draws the panel hidden or not from this cookie (one per person), so a page
      // never shows it and then hides it.
      document.cookie = layout.dataset.cookie + "=" + (hidden ? "1" : "0") +
        "; path=/; max-age=" + YEAR + "; SameSite=Lax";
    });
  }

  function setupPoll() {
    var bar = document.getElementById("new-leads");
    if (!bar || !window.htmx) { return; }
    var every = Math.max(1, parseInt(bar.dataset.pollSeconds, 10) || 20) * 1000;
    var last = Date.now();

    function poll() {
      last = Date.now();
      window.htmx.trigger(bar, "bp-poll");
    }
    // A hidden tab does not ask; coming back asks at once when a poll was missed.
    setInterval(function () {
      if (document.visibilityState === "visible") { poll(); }
    }, every);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && Date.now() - last >= every) { poll(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupFold();
    setupPoll();
  });
})();
