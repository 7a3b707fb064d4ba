/* vcftrack web app behaviour. No inline script anywhere (strict CSP):
   everything is bound here by data attributes and event delegation, so it
   keeps working on content htmx swaps in. */
(function () {
  "use strict";

  // The search box filters as one types (its own "input" trigger); its
  // "change" on blur would refetch the same results and close an open row.
  document.addEventListener("change", function (event) {
    if (event.target.matches("#filters input[type=search]")) event.stopPropagation();
  }, true);

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("select[data-autosubmit]")) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
    if (el.matches("input[data-select-all]")) {
      var name = el.getAttribute("data-select-all");
      document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
        box.checked = el.checked;
      });
    }
  });

  // Before an action on a worklist row: remember the row after it, so focus
  // moves there once the refreshed list is in (the acted-on row may be gone).
  var nextRowId = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var row = elt && elt.closest ? elt.closest("article.task") : null;
    nextRowId = null;
    if (!row) return;
    var rows = Array.prototype.slice.call(document.querySelectorAll("#results article.task"));
    var i = rows.indexOf(row);
    var next = rows[i + 1] || rows[i - 1];
    nextRowId = next ? next.id : null;
  });

  function focusFirstAction(row) {
    // The first action a person can see: a button inside a closed <details>
    // (or a hidden form) cannot take focus, and focus would fall to <body>.
    var candidates = row.querySelectorAll(".task-quick button, .task-quick summary");
    for (var i = 0; i < candidates.length; i++) {
      if (candidates[i].getClientRects().length === 0) continue;
      candidates[i].focus({ preventScroll: false });
      if (document.activeElement === candidates[i]) return;
    }
    row.setAttribute("tabindex", "-1");
    row.focus({ preventScroll: false });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    armUndo(document);
    if (!target || !target.querySelector) return;
    if (target.id === "results" && document.querySelector("#results .flash")) {
      var row = (nextRowId && document.getElementById(nextRowId)) ||
        document.querySelector("#results article.task");
      if (row) focusFirstAction(row); else document.querySelector("#results .flash").focus();
      return;
    }
    // A row answered with its result or its errors: focus what it says.
    var result = target.querySelector(".field-error, .form-errors, .task-result");
    if (result) {
      result.setAttribute("tabindex", "-1");
      result.focus({ preventScroll: false });
    }
  });

  // "Undo" is offered for a few seconds after each action.
  function armUndo(root) {
    root.querySelectorAll("form.undo[data-undo-seconds]").forEach(function (form) {
      var seconds = parseInt(form.getAttribute("data-undo-seconds"), 10) || 10;
      form.removeAttribute("data-undo-seconds");
      setTimeout(function () { form.remove(); }, seconds * 1000);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { armUndo(document); });

  // A failed request says so where the person acted, in a sentence: never a
  // sign-in page or an error page inside a row.
  function say(elt, html) {
    var box = (elt.closest && (elt.closest("article.task") || elt.closest("form"))) || document.getElementById("main");
    var old = box.querySelector(":scope > .request-error");
    if (old) old.remove();
    var p = document.createElement("p");
    p.className = "request-error form-errors";
    p.setAttribute("role", "alert");
    p.innerHTML = html;
    box.appendChild(p);
  }
  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var elt = event.detail.elt;
    var status = xhr.status;
    if (status === 401) {
      var next = encodeURIComponent(location.pathname + location.search);
      say(elt, 'You were signed out, so nothing was saved. <a href="/accounts/login/?next=' + next + '">Sign in again</a> to come back to this page.');
    } else if (status === 403) {
      var type = xhr.getResponseHeader("Content-Type") || "";
      var text = type.indexOf("text/plain") === 0 && xhr.responseText.length < 300
        ? xhr.responseText : "You may not do this here.";
      say(elt, escapeHtml(text) + " Nothing was saved.");
    } else if (status === 404) {
      say(elt, "This item no longer exists. Reload the page.");
    } else {
      say(elt, "Something went wrong on the server and the change may not have been saved. Reload the page to see where things stand.");
    }
  });

  // A row whose request failed at the network level says so.
  document.addEventListener("htmx:sendError", function (event) {
    say(event.detail.elt, "Could not reach the server; nothing was saved.");
  });

  // Filters fold behind a "Filters (n)" button on a phone.
  document.addEventListener("DOMContentLoaded", function () {
    if (window.matchMedia("(max-width: 700px)").matches) {
      document.querySelectorAll("details[data-collapse-narrow]").forEach(function (d) { d.open = false; });
    }
  });

  // Open a <details> named by the URL fragment (e.g. #new-episode).
  function openFromHash() {
    if (!location.hash) return;
    var el = document.getElementById(location.hash.slice(1));
    if (el && el.tagName === "DETAILS") el.open = true;
  }
  window.addEventListener("hashchange", openFromHash);
  document.addEventListener("DOMContentLoaded", openFromHash);
})();
