// The Undo toast: shown for 10 seconds after an edit, then gone (the server still accepts a slow
// click for a minute). After an htmx edit it is fetched, since no page load brings it.
(function () {
  "use strict";

  function region() { return document.getElementById("undo-toast"); }

  function remove(offer) {
    if (offer && offer.parentNode) { offer.parentNode.removeChild(offer); }
  }

  // Hide after its seconds, but not from under a person whose focus or pointer is on it.
  function start(offer) {
    if (!offer || offer.dataset.started) { return; }
    offer.dataset.started = "1";
    var seconds = Number(offer.dataset.seconds || 10);
    var held = false;
    var due = false;
    function expire() { due = true; if (!held) { remove(offer); } }
    function hold() { held = true; }
    function release() {
      held = offer.contains(document.activeElement) || offer.matches(":hover");
      if (due && !held) { remove(offer); }
    }
    offer.addEventListener("focusin", hold);
    offer.addEventListener("mouseenter", hold);
    offer.addEventListener("focusout", function () { setTimeout(release, 0); });
    offer.addEventListener("mouseleave", release);
    setTimeout(expire, seconds * 1000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".undo-dismiss");
    if (button) { remove(button.closest(".undo-offer")); }
  });

  document.addEventListener("keydown", function (event) {
    var box = region();
    var offer = box && box.querySelector(".undo-offer");
    if (event.key === "Escape" && offer && offer.contains(document.activeElement)) { remove(offer); }
  });

  // An offer rendered with the page is put back into the live region once the page is
  // ready, so that screen readers announce it as they would a new one.
  document.addEventListener("DOMContentLoaded", function () {
    var box = region();
    var offer = box && box.querySelector(".undo-offer");
    if (!offer) { return; }
    box.removeChild(offer);
    setTimeout(function () { box.appendChild(offer); start(offer); }, 50);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var box = region();
    var detail = event.detail || {};
    if (!box || !window.htmx || !detail.successful) { return; }
    var verb = ((detail.requestConfig || {}).verb || "").toLowerCase();
    if (verb !== "post") { return; }
    window.htmx.ajax("GET", box.dataset.url, { target: box, swap: "innerHTML" }).then(function () {
      start(box.querySelector(".undo-offer"));
    });
  });
})();
