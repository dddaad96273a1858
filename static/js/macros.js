// Triage macros by key: on a lead's page the key applies the macro to that lead; on the list it
// applies it to the focused row (its button, clicked, applies it to the selected rows).
(function () {
  "use strict";

  function typing(target) {
    var tag = (target.tagName || "").toLowerCase();
    if (tag === "input" && (target.type === "checkbox" || target.type === "radio")) { return false; }
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function focusedRow() {
    var active = document.activeElement;
    var row = active && active.closest && active.closest("#lead-table tbody tr[data-uuid]");
    return row || document.querySelector("#lead-table tbody tr[data-uuid].row-focus");
  }

  // The row's lead page, from its link (the server spells the uuid as its URLs want it).
  function leadPath(row) {
    var links = row.querySelectorAll("a[href]");
    for (var i = 0; i < links.length; i++) {
      var url = new URL(links[i].href, window.location.href);
      if (/^\/(?:.*\/)?leads\/[^/]+\/$/.test(url.pathname)) { return url; }
    }
    return null;
  }

  function csrfToken() {
    var field = document.querySelector('input[name="csrfmiddlewaretoken"]');
    return field ? field.value : "";
  }

  function applyToRow(row, macro) {
    var lead = leadPath(row);
    if (!lead) { return false; }
    var bot = lead.searchParams.get("bot");
    var form = document.createElement("form");
    form.method = "post";
    form.action = lead.pathname + "macros/" + macro + "/apply/" + (bot ? "?bot=" + encodeURIComponent(bot) : "");
    [["csrfmiddlewaretoken", csrfToken()], ["next", window.location.pathname + window.location.search]].forEach(function (pair) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = pair[0];
      input.value = pair[1];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) { return; }
    if (typing(event.target) || event.key.length !== 1) { return; }
    var key = event.key.toLowerCase();
    var button = document.querySelector('#macros .macro-button[data-macro-key="' + (/^[a-z0-9]$/.test(key) ? key : "none") + '"]');
    if (!button) { return; }
    var bar = document.getElementById("macros");
    if (!bar.dataset.list) {
      event.preventDefault();
      button.click();
      return;
    }
    var row = focusedRow();
    if (row && applyToRow(row, button.dataset.macro)) { event.preventDefault(); }
  });
})();
