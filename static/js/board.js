// The pipeline board (templates/leads/board.html). A card moves to another column by drag and
// drop (SortableJS), by a key while it has the focus (1–6: the n-th status) or by its "Move to…"
// form; each way posts the same form (htmx) and puts the card where the answer says the lead
// now is: in its new column, or back where it was after a conflict or a refusal, with the reason
// on the card and in the page's status region (read out by screen readers). Without JavaScript
// the form posts and the page comes back (Post/Redirect/Get).
(function () {
  "use strict";

  var STATUSES = ["OPEN", "INPROGRESS", "REVIEW", "ONHOLD", "DEPENDANCY", "CLOSED"];

  function board() { return document.getElementById("board"); }
  function canMove() { var b = board(); return !!(b && b.dataset.move); }

  function announce(text) {
    var region = document.getElementById("board-announce");
    if (!region) { return; }
    region.textContent = "";
    // A new text node after a tick, so that the same sentence twice is read twice.
    setTimeout(function () { region.textContent = text; }, 30);
  }

  function list(status) {
    var b = board();
    return b ? b.querySelector('.board-cards[data-status="' + status + '"]') : null;
  }

  function cards(ol) { return Array.prototype.slice.call(ol.querySelectorAll(":scope > .board-card")); }

  function label(status) {
    var heading = document.getElementById("col-" + status);
    if (!heading) { return status; }
    var clone = heading.cloneNode(true);
    Array.prototype.forEach.call(clone.querySelectorAll(".board-key, .board-count"), function (el) {
      el.remove();
    });
    return clone.textContent.trim();
  }

  function adjustCount(status, by) {
    var badge = document.querySelector('[data-count="' + status + '"]');
    if (!badge) { return; }
    var n = parseInt(badge.textContent.replace(/[^0-9]/g, ""), 10) || 0;
    badge.textContent = Math.max(0, n + by).toLocaleString("en-US");
  }

  function syncEmpty(ol) {
    if (!ol) { return; }
    var empty = ol.querySelector(":scope > .board-empty");
    var any = cards(ol).length > 0;
    if (any && empty) { empty.remove(); }
    if (!any && !empty && !ol.querySelector(":scope > .board-more")) {
      var li = document.createElement("li");
      li.className = "board-empty";
      li.textContent = "No leads";
      ol.appendChild(li);
    }
  }

  // The card first in its column (where the board lists a lead that just changed status).
  function putFirst(card, status) {
    var ol = list(status);
    if (!ol) { return false; }
    var first = ol.querySelector(":scope > .board-card, :scope > .board-empty, :scope > .board-more");
    ol.insertBefore(card, first);
    syncEmpty(ol);
    return true;
  }

  function putBack(card, origin) {
    origin.list.insertBefore(card, origin.next && origin.next.parentNode === origin.list ? origin.next : null);
    syncEmpty(origin.list);
  }

  function note(card, text) {
    var p = document.createElement("p");
    p.className = "board-note";
    p.textContent = text;
    card.appendChild(p);
  }

  function moveUrl(card) {
    var form = card.querySelector(".board-move form");
    return form ? form.getAttribute("action") : null;
  }

  // Post the move of `card` to `status`; `origin` is where it was ({list, next}), `focus`
  // whether it should have the focus afterwards.
  function move(card, status, origin, focus) {
    var url = moveUrl(card);
    var from = card.dataset.status;
    if (!url || !window.htmx || card.dataset.busy) { return; }
    if (status === from) {
      announce(cardName(card) + " is already in " + label(status) + ".");
      return;
    }
    card.dataset.busy = "1";
    card.classList.add("board-saving");
    card.setAttribute("aria-busy", "true");
    Array.prototype.forEach.call(card.querySelectorAll(".board-note"), function (el) { el.remove(); });
    card.addEventListener("htmx:afterRequest", function (event) {
      settle(card, from, origin, focus, event.detail.xhr);
    }, { once: true });
    window.htmx.ajax("POST", url, {
      source: card,
      swap: "none",
      values: { status: status, version: card.dataset.v, query: board().dataset.query || "" }
    });
  }

  function cardName(card) {
    var link = card.querySelector(".board-name");
    return link ? link.textContent.trim() : "The lead";
  }

  // The answer to a move: the card as the lead is now, and the outcome.
  function settle(card, from, origin, focus, xhr) {
    var template = document.createElement("template");
    template.innerHTML = xhr && xhr.responseText ? xhr.responseText : "";
    var fresh = template.content.querySelector(".board-card");
    var outcome = template.content.querySelector(".board-outcome");
    if (!fresh || !outcome) {
      card.classList.remove("board-saving");
      card.removeAttribute("aria-busy");
      delete card.dataset.busy;
      putBack(card, origin);
      var status = xhr ? xhr.status : 0;
      var why = status === 403 ? "you may not move leads."
        : status === 404 ? "this lead is not on your board any more."
        : status === 0 ? "BotPanel did not answer."
        : "BotPanel could not do it (HTTP " + status + ").";
      var text = "Not moved: " + why + " " + cardName(card) + " is back in " + label(from) + ".";
      note(card, text);
      announce(text);
      return;
    }
    var now = outcome.dataset.status;
    var kind = outcome.dataset.outcome;
    var sentence = outcome.textContent.trim();
    card.replaceWith(fresh);
    if (now === from) {
      // Refused, a conflict that left it where it was, or nothing to do: back where it was.
      putBack(fresh, origin);
    } else if (!putFirst(fresh, now)) {
      fresh.remove();  // a status this view leaves out
      sentence += " This board does not show " + label(now) + ".";
    }
    syncEmpty(origin.list);
    if (now !== from) {
      adjustCount(from, -1);
      adjustCount(now, 1);
    }
    if (kind === "conflict" || kind === "refused") { note(fresh, sentence); }
    announce(sentence);
    if (focus && fresh.isConnected) { fresh.focus(); }
  }

  // A conflict or a refusal is an answer the card shows, not an htmx error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (elt && elt.classList && elt.classList.contains("board-card") && (status === 409 || status === 422 || status === 400)) {
      event.detail.isError = false;
      event.detail.shouldSwap = false;
    }
  });

  function originOf(card) {
    return { list: card.parentNode, next: card.nextElementSibling };
  }

  // Keys on a focused card: 1–6 move it, arrows go to the next card (Up/Down in the column,
  // Left/Right to the neighbouring columns), Enter opens it.
  document.addEventListener("keydown", function (event) {
    var card = event.target;
    if (!card.classList || !card.classList.contains("board-card")) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var n = parseInt(event.key, 10);
    if (n >= 1 && n <= 6 && canMove()) {
      event.preventDefault();
      move(card, STATUSES[n - 1], originOf(card), true);
      return;
    }
    if (event.key === "Enter") {
      var link = card.querySelector(".board-name");
      if (link) { event.preventDefault(); link.click(); }
      return;
    }
    var target = neighbour(card, event.key);
    if (target) {
      event.preventDefault();
      target.focus();
    }
  });

  function neighbour(card, key) {
    var ol = card.parentNode;
    var here = cards(ol);
    var i = here.indexOf(card);
    if (key === "ArrowDown" || key === "j") { return here[i + 1] || null; }
    if (key === "ArrowUp" || key === "k") { return here[i - 1] || null; }
    if (key !== "ArrowLeft" && key !== "ArrowRight") { return null; }
    var lists = Array.prototype.slice.call(document.querySelectorAll("#board .board-cards"));
    var step = key === "ArrowRight" ? 1 : -1;
    for (var j = lists.indexOf(ol) + step; j >= 0 && j < lists.length; j += step) {
      var there = cards(lists[j]);
      if (there.length) { return there[Math.min(i, there.length - 1)]; }
    }
    return null;
  }

  // The card's "Move to…" form, sent without leaving the page.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var card = form.closest && form.closest(".board-card");
    if (!card || !form.closest(".board-move") || !board()) { return; }
    event.preventDefault();
    var details = form.closest("details");
    if (details) { details.open = false; }
    move(card, form.elements.status.value, originOf(card), true);
  });

  function startDragging() {
    if (!canMove() || !window.Sortable) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("#board .board-cards"), function (ol) {
      window.Sortable.create(ol, {
        group: "board",
        sort: false,
        draggable: ".board-card",
        filter: ".board-move, .board-more",
        preventOnFilter: false,
        animation: 120,
        delay: 150,
        delayOnTouchOnly: true,
        onEnd: function (event) {
          if (event.from === event.to) { return; }
          var origin = { list: event.from, next: event.from.children[event.oldIndex] || null };
          syncEmpty(event.to);
          move(event.item, event.to.dataset.status, origin, false);
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", startDragging);
})();
