// The lead list: keyboard triage and selection. Loaded with defer; no inline scripts.
(function () {
  "use strict";
  var STATUSES = ["OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED"];
  var focusIndex = -1;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#lead-table tbody tr[data-uuid]"));
  }

  // Roving tabindex: the current row alone is in the tab order (tabindex 0) and, unless
  // `keepFocus`, receives the real focus; the others are -1.
  function setFocus(index, keepFocus) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (tr) { tr.classList.remove("row-focus"); tr.tabIndex = -1; });
    var row = all[index];
    row.classList.add("row-focus");
    row.tabIndex = 0;
    focusIndex = index;
    if (!keepFocus) { row.focus(); }
  }

  function focusedRow() {
    var all = rows();
    return focusIndex >= 0 && focusIndex < all.length ? all[focusIndex] : null;
  }

  function updateSelectedCount() {
    var count = document.querySelectorAll('#lead-table input[name="selected"]:checked').length;
    var el = document.getElementById("selected-count");
    if (el) { el.textContent = String(count); }
  }

  function typing(target) {
    var tag = (target.tagName || "").toLowerCase();
    if (tag === "input" && (target.type === "checkbox" || target.type === "radio")) { return false; }
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // A row's status comes as a badge (st-VALUE, a dash for none of the six): it becomes the
  // row's status select, the six options from the page's <template id="status-options">, which
  // posts to the lead's row-status URL (its link's, + "row-status/") with the row's version.
  function upgradeStatuses() {
    var template = document.getElementById("status-options");
    if (!template) { return; }
    document.querySelectorAll("#lead-table tbody td > .st").forEach(function (badge) {
      var tr = badge.closest("tr[data-uuid]");
      var link = tr && tr.querySelector("a.lead-link");
      if (!link) { return; }
      var match = /\bst-(\w+)/.exec(badge.className);
      var status = match && match[1] !== "none" ? match[1] : "";
      var select = document.createElement("select");
      select.name = "status";
      select.className = "form-select js-row-status st-" + (status || "none");
      select.setAttribute("aria-label", "Status");
      select.setAttribute("hx-post", link.getAttribute("href").split("?")[0] + "row-status/" +
        (tr.dataset.bot ? "?bot=" + tr.dataset.bot : ""));
      select.setAttribute("hx-vals", JSON.stringify({ version: Number(tr.dataset.v) }));
      if (!status) { select.add(new Option("—", "", true, true)); }
      select.appendChild(template.content.cloneNode(true));
      select.value = status;
      badge.replaceWith(select);
      if (window.htmx) { window.htmx.process(select); }
    });
  }

  // Rows are focusable (tabindex -1), the current one, else the first, in the tab order.
  function giveTabindex() {
    var all = rows();
    all.forEach(function (tr) { if (!tr.hasAttribute("tabindex")) { tr.tabIndex = -1; } });
    if (all.length && !all.some(function (tr) { return tr.tabIndex === 0; })) {
      all[Math.max(0, Math.min(focusIndex, all.length - 1))].tabIndex = 0;
    }
  }

  function updateSelectPage() {
    var all = document.getElementById("select-page");
    if (!all) { return; }
    var boxes = document.querySelectorAll('#lead-table input[name="selected"]');
    var checked = document.querySelectorAll('#lead-table input[name="selected"]:checked').length;
    all.checked = boxes.length > 0 && checked === boxes.length;
    all.indeterminate = checked > 0 && checked < boxes.length;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    var row = focusedRow();
    if (event.key === "j") { setFocus(focusIndex + 1); event.preventDefault(); }
    else if (event.key === "k") { setFocus(focusIndex < 0 ? 0 : focusIndex - 1); event.preventDefault(); }
    else if (event.key === "Enter" && row && event.target === row) {
      var link = row.querySelector("a.lead-link");
      if (link) { window.location.href = link.href; }
      event.preventDefault();
    } else if (/^[1-6]$/.test(event.key) && row) {
      var select = row.querySelector("select.js-row-status");
      var status = STATUSES[Number(event.key) - 1];
      if (select && select.value !== status) {
        select.value = status;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      event.preventDefault();
    } else if (event.key === "x" && row) {
      var box = row.querySelector('input[name="selected"]');
      if (box) {
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change", { bubbles: true }));
      }
      event.preventDefault();
    } else if (event.key === "/") {
      var search = document.querySelector('#filter-form input[name="q"]');
      if (search) { search.focus(); search.select(); }
      event.preventDefault();
    } else if (event.key === "Escape") {
      var open = document.querySelector("#shortcuts.show");
      if (open && window.bootstrap) { window.bootstrap.Modal.getOrCreateInstance(open).hide(); }
    } else if (event.key === "?") {
      var modal = document.getElementById("shortcuts");
      if (modal && window.bootstrap) { window.bootstrap.Modal.getOrCreateInstance(modal).toggle(); }
      event.preventDefault();
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "select-page") {
      document.querySelectorAll('#lead-table input[name="selected"]').forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    if (event.target.matches('input[name="selected"], #select-page')) {
      updateSelectedCount();
      updateSelectPage();
    }
    if (event.target.matches(".js-autosubmit")) { event.target.form.submit(); }
    if (event.target.id === "bulk-action") { toggleBulkFields(); }
  });

  // Clicking a row focuses it (so digits act on it), without stealing clicks on links/inputs.
  document.addEventListener("click", function (event) {
    var tr = event.target.closest && event.target.closest("#lead-table tbody tr[data-uuid]");
    if (tr) { setFocus(rows().indexOf(tr), true); }
  });

  // Focus moved into a row (Tab, a click on its link or box): that row is the current one.
  document.addEventListener("focusin", function (event) {
    var tr = event.target.closest && event.target.closest("#lead-table tbody tr[data-uuid]");
    if (tr) { setFocus(rows().indexOf(tr), true); }
  });

  // A row swapped by htmx (its status changed) stays the current row, and keeps the focus
  // when it had it; other swaps (the side panel, the new-leads bar) leave the focus alone.
  var refocus = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    refocus = null;
    if (target && target.matches && target.matches("#lead-table tbody tr[data-uuid]")) {
      refocus = { index: rows().indexOf(target), had: target.contains(document.activeElement) };
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    upgradeStatuses();
    giveTabindex();
    if (refocus && refocus.index >= 0) { setFocus(refocus.index, !refocus.had); }
    refocus = null;
    updateSelectedCount();
    updateSelectPage();
  });

  function toggleBulkFields() {
    var action = document.getElementById("bulk-action");
    if (!action) { return; }
    var status = document.getElementById("bulk-status");
    var tag = document.getElementById("bulk-tag");
    status.classList.toggle("d-none", action.value !== "set_status");
    status.required = action.value === "set_status";  // "Choose…" is no status
    tag.classList.toggle("d-none", action.value !== "add_tag" && action.value !== "remove_tag");
    // Hook: a field marked data-bulk-for="ACTION" shows for that action only (assign.js's agent).
    document.querySelectorAll("#bulk-form [data-bulk-for]").forEach(function (field) {
      field.classList.toggle("d-none", field.dataset.bulkFor !== action.value);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    toggleBulkFields();
    updateSelectedCount();
    updateSelectPage();
    upgradeStatuses();
    giveTabindex();
    document.body.dataset.listReady = "1";
  });
})();
