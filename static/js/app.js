// BotPanel: behaviour shared by every page. No inline scripts anywhere (CSP-friendly).
(function () {
  "use strict";
  // A picture that does not load (offline CDN, dead link) gives way to the initials.
  document.addEventListener("error", function (event) {
    var img = event.target;
    if (!(img instanceof HTMLImageElement) || !img.classList.contains("avatar")) { return; }
    var span = document.createElement("span");
    span.className = img.className + " avatar-initials";
    span.textContent = img.dataset.initials || "?";
    img.replaceWith(span);
  }, true);

  // Flash messages fade away after a while, errors stay.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#messages .alert-success, #messages .alert-info").forEach(function (el) {
      setTimeout(function () { el.classList.remove("show"); }, 8000);
    });
  });
})();
