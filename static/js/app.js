// BotPanel: behaviour shared by every page. No inline scripts anywhere (CSP-friendly).
(function () {
  "use strict";
  // Flash messages fade away after a while, errors stay.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#messages .alert-success, #messages .alert-info").forEach(function (el) {
      setTimeout(function () { el.classList.remove("show"); }, 8000);
    });
  });
})();
