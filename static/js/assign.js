// Key a, "assign to me": on a lead's page it presses the "Assign to me" button (a plain POST);
// on the list it assigns the focused row through htmx, which swaps in the re-rendered row (or
// shows the refusal in the page's messages). Loaded with defer; no inline scripts.
(function () {
  "use strict";
  if (window.botpanelAssignLoaded) { return; }  // the list and the detail page may both load it
  window.botpanelAssignLoaded = true;

  function typing(target) {
    var tag = (target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // The row list.js has focused: the one holding the keyboard focus, else its highlighted one.
  function focusedRow() {
    var active = document.activeElement;
    var row = active && active.closest ? active.closest("#lead-table tbody tr[data-uuid]") : null;
    return row || document.querySelector("#lead-table tbody tr[data-uuid].row-focus");
  }

  // The row's assign URL: its lead link's path + "assign/", and its bot when the list shows
  // several (as list.js builds the row's status URL).
  function assignUrl(row) {
    var link = row.querySelector("a.lead-link");
    if (!link) { return null; }
    return link.getAttribute("href").split("?")[0] + "assign/" +
      (row.dataset.bot ? "?bot=" + row.dataset.bot : "");
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "a" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(event.target) || document.querySelector(".modal.show")) { return; }
    var button = document.getElementById("assign-to-me");
    if (button) {
      event.preventDefault();
      button.click();
      return;
    }
    var row = focusedRow();
    var url = row ? assignUrl(row) : null;
    if (!url || !window.htmx) { return; }
    event.preventDefault();
    var query = document.getElementById("lead-table-query");
    window.htmx.ajax("POST", url, {
      source: row,
      target: row,
      swap: "outerHTML",
      values: { agent: "me", row: "1", query: query ? query.value : "" }
    });
  });
})();
