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

  // After an inline action, move focus to the row's result so keyboard and
  // screen-reader users hear what happened.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.querySelector) return;
    var result = target.querySelector(".task-result, .field-error, .form-errors");
    if (result) {
      result.setAttribute("tabindex", "-1");
      result.focus({ preventScroll: false });
    }
  });

  // A row whose request failed at the network level says so.
  document.addEventListener("htmx:sendError", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.insertAdjacentHTML) {
      elt.insertAdjacentHTML("beforeend", '<p class="field-error" role="alert">Could not reach the server; nothing was saved.</p>');
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
