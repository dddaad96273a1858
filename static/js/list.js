// The lead list: keyboard triage and selection. Loaded with defer; no inline scripts.
(function () {
  "use strict";
  var STATUSES = ["OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED"];
  var focusIndex = -1;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#lead-table tbody tr[data-uuid]"));
  }

  function setFocus(index) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (tr) { tr.classList.remove("row-focus"); });
    var row = all[index];
    row.classList.add("row-focus");
    row.scrollIntoView({ block: "nearest" });
    focusIndex = index;
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
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
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
    else if (event.key === "Enter" && row) {
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
      if (box) { box.checked = !box.checked; updateSelectedCount(); }
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
    if (event.target.matches('input[name="selected"]')) { updateSelectedCount(); }
    if (event.target.matches(".js-autosubmit")) { event.target.form.submit(); }
    if (event.target.id === "bulk-action") { toggleBulkFields(); }
  });

  // Clicking a row focuses it (so digits act on it), without stealing clicks on links/inputs.
  document.addEventListener("click", function (event) {
    var tr = event.target.closest && event.target.closest("#lead-table tbody tr[data-uuid]");
    if (tr) { setFocus(rows().indexOf(tr)); }
  });

  // After htmx swaps a row, keep the focus on the same row index.
  document.addEventListener("htmx:afterSwap", function () {
    if (focusIndex >= 0) { setFocus(focusIndex); }
    updateSelectedCount();
  });

  function toggleBulkFields() {
    var action = document.getElementById("bulk-action");
    if (!action) { return; }
    var status = document.getElementById("bulk-status");
    var tag = document.getElementById("bulk-tag");
    status.classList.toggle("d-none", action.value !== "set_status");
    tag.classList.toggle("d-none", action.value !== "add_tag" && action.value !== "remove_tag");
    // Hook: a field marked data-bulk-for="ACTION" shows for that action only (assign.js's agent).
    document.querySelectorAll("#bulk-form [data-bulk-for]").forEach(function (field) {
      field.classList.toggle("d-none", field.dataset.bulkFor !== action.value);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    toggleBulkFields();
    updateSelectedCount();
    document.body.dataset.listReady = "1";
  });
})();
