// The store console's few behaviours, from a file (its Content-Security-Policy
// allows no inline script): menus, dialogs, and the dashboard's self-refresh.
(function () {
  "use strict";

  // Close the other menus when one opens (keyboard and touch friendly <details>).
  const menus = document.querySelectorAll(".topbar details");
  menus.forEach(function (d) {
    d.addEventListener("toggle", function () {
      if (d.open) menus.forEach(function (o) { if (o !== d) o.open = false; });
    });
  });

  // Buttons that open a dialog (data-open="id") and close theirs (data-close); a
  // dialog marked data-show opens with the page (a refused form shown again in it).
  document.querySelectorAll("[data-open]").forEach(function (b) {
    b.addEventListener("click", function () { document.getElementById(b.dataset.open).showModal(); });
  });
  document.querySelectorAll("dialog [data-close]").forEach(function (b) {
    b.addEventListener("click", function () { b.closest("dialog").close(); });
  });
  document.querySelectorAll("dialog[data-show]").forEach(function (d) { d.showModal(); });

  // A self-refreshing region (data-keep-while-focused) skips its refresh while the
  // focus is inside it, so a form being filled in there is not replaced. (An htmx
  // trigger filter would need eval, which the policy forbids.)
  document.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail.elt;
    if (elt.hasAttribute("data-keep-while-focused") && elt.contains(document.activeElement)) {
      event.preventDefault();
    }
  });
})();
