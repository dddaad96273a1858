// BotPanel: behaviour shared by every page. No inline scripts anywhere (CSP-friendly).
(function () {
  "use strict";
  // A picture that does not load (offline CDN, dead link) gives way to the initials, on every
  // page: one listener in the capture phase, since 'error' does not bubble and inline onerror
  // handlers are forbidden by the CSP.
  function initials(img) {
    var span = document.createElement("span");
    span.className = img.className;
    span.setAttribute("aria-hidden", "true");
    span.textContent = img.dataset.initials || "?";
    img.replaceWith(span);
  }
  document.addEventListener("error", function (event) {
    var img = event.target;
    if (img instanceof HTMLImageElement && img.classList.contains("avatar")) { initials(img); }
  }, true);

  // Relative moments ("3 h ago"), by the same rules as leads/web/display.py's relative(): the
  // server writes them, this keeps them true while a page stays open.
  var UNITS = [
    [365 * 86400, "year", "years"],
    [30 * 86400, "month", "months"],
    [86400, "day", "days"],
    [3600, "h", "h"],
    [60, "min", "min"]
  ];

  function relative(when, now) {
    var seconds = (when - now) / 1000;
    var distance = Math.abs(seconds);
    for (var i = 0; i < UNITS.length; i++) {
      if (distance >= UNITS[i][0]) {
        var count = Math.floor(distance / UNITS[i][0]);
        var text = count + " " + (count === 1 ? UNITS[i][1] : UNITS[i][2]);
        return seconds > 0 ? "in " + text : text + " ago";
      }
    }
    return "just now";
  }

  // The exact time for a tooltip the server left out (the list's rows), as the server writes
  // it: "5 Oct 2026, 14:03 IST", in the person's time zone (<html data-tz>).
  var exact = null;
  try {
    exact = new Intl.DateTimeFormat("en-GB", {
      timeZone: document.documentElement.dataset.tz || undefined,
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23", timeZoneName: "short"
    });
  } catch (e) { exact = null; }  // a zone this browser does not know: no tooltip

  function refreshMoments() {
    var now = Date.now();
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var when = Date.parse(el.getAttribute("datetime"));
      if (isNaN(when)) { return; }
      var text = relative(when, now);
      if (el.textContent !== text) { el.textContent = text; }
      if (!el.title && exact) { el.title = exact.format(when).replace(" at ", ", "); }
    });
  }

  // Copy buttons (data-copy): the value to the clipboard, and a visible "Copied" beside the
  // button in its role=status element, which screen readers announce.
  function copied(button, ok) {
    var status = button.parentElement && button.parentElement.querySelector(".copy-done");
    if (!status) { return; }
    status.textContent = ok ? "Copied" : "Copy failed: select the text and copy it";
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(function () { status.textContent = ""; }, 4000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".js-copy");
    if (!button) { return; }
    var text = button.dataset.copy || "";
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { copied(button, true); },
        function () { copied(button, false); }
      );
      return;
    }
    // Without the async clipboard (a plain-http address): the older way.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    button.focus();
    copied(button, ok);
  });

  document.addEventListener("DOMContentLoaded", function () {
    // Flash messages fade away after a while, errors stay.
    document.querySelectorAll("#messages .alert-success, #messages .alert-info").forEach(function (el) {
      setTimeout(function () { el.classList.remove("show"); }, 8000);
    });
    refreshMoments();
    setInterval(refreshMoments, 30000);
    // Pictures that failed before this deferred script was listening.
    document.querySelectorAll("img.avatar").forEach(function (img) {
      if (img.complete && img.naturalWidth === 0) { initials(img); }
    });
  });
  document.addEventListener("htmx:afterSettle", refreshMoments);
})();
