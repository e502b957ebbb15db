// The cashier's screen: keyboard shortcuts, keeping the focus on the scan field,
// the payment dialog. Everything else is htmx and server-rendered HTML; the server
// is the authority for every rule (this file only helps the hands).
(function () {
  "use strict";

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  function openDialog() {
    return $("dialog[open]");
  }

  // --- the scan field keeps the focus ---------------------------------------------
  function focusScan() {
    const scan = $("#scan");
    // preventScroll: focusing must not scroll the line just scanned out of sight
    if (scan && !openDialog()) scan.focus({ preventScroll: true });
  }

  // --- the basket keeps the line just changed in sight ---------------------------------
  // The basket scrolls inside its pane (pos.css); swapping the sale region resets the
  // pane, so its scroll is kept across the swap, then moved just enough to show the
  // line the action changed (the server marks it data-just-changed).
  let basketScroll = 0;

  document.addEventListener("htmx:beforeSwap", (event) => {
    const pane = $("#sale .basket-pane");
    if (pane && event.detail.target && event.detail.target.id === "sale") {
      basketScroll = pane.scrollTop;
    }
  });

  function showChangedLine() {
    const pane = $("#sale .basket-pane");
    if (!pane) return;
    pane.scrollTop = basketScroll;
    const line = $("tr[data-just-changed]", pane);
    if (!line) return;
    const box = pane.getBoundingClientRect();
    const row = line.getBoundingClientRect();
    const head = $("thead", pane);
    const top = box.top + (head ? head.getBoundingClientRect().height : 0);
    if (row.bottom > box.bottom) pane.scrollTop += row.bottom - box.bottom;
    else if (row.top < top) pane.scrollTop -= top - row.top;
  }

  function isTyping(el) {
    return el && (el.matches("input, select, textarea") || el.isContentEditable);
  }

  document.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt;
    if (form && form.id === "scan-form") {
      $("#scan").value = "";
    }
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail.target;
    if (!target) return;
    if (target.id === "sale") {
      showChangedLine();
      const pay = $("#pay-dialog");
      const active = document.activeElement;
      const asking = $("#discount-dialog[data-open], #void-dialog[data-open]");
      if (pay && pay.dataset.open) {
        showPay(true); // the payment was refused: the dialog stays, with the errors
      } else if (asking) {
        showDialog(asking.id, null); // refused, or a manager's PIN is asked for
      } else if (!active || active === document.body || target.contains(active)) {
        // the focus was in what was just replaced (or nowhere): back to scanning, but
        // never away from a field the cashier went to meanwhile (F2 search...)
        focusScan();
      }
    }
    if (target.id !== "sale") {
      const invalid = $("[aria-invalid=true]", target); // a refused form: the field to correct
      if (invalid) invalid.focus();
    }
    if (target.id === "search-results") {
      const search = $("#search");
      if (search) search.setAttribute("aria-expanded", $(".result", target) ? "true" : "false");
      if (pickFirst && search && resultsAreFor(search.value)) {
        pickFirst = false;
        const first = results()[0];
        if (first) first.click();
      }
    }
  });

  // --- a sync brought changes: show the basket again (a price may have changed) -------
  // The status bar carries how far the till has pulled from the store; when that moves
  // on the sell screen, the sale region is fetched again, unless the cashier is in the
  // middle of something (a dialog, a quantity or search being typed, a basket action
  // on its way): the payment then checks the total it showed, and the next action
  // shows the new prices anyway. A refresh never overwrites the answer to an action
  // started after it (it could hold the basket as it was before that action).
  const REFRESH = "X-Basket-Refresh";
  let pulled = null;
  let actionsInFlight = 0;
  let lastAction = 0;
  let lastRefresh = 0;
  let requests = 0;

  function isRefresh(detail) {
    const headers = (detail.requestConfig && detail.requestConfig.headers) || {};
    return !!headers[REFRESH];
  }

  document.addEventListener("htmx:beforeRequest", (event) => {
    const target = event.detail.target;
    if (!target || target.id !== "sale" || isRefresh(event.detail)) return;
    actionsInFlight += 1;
    lastAction = ++requests;
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    const target = event.detail.target;
    if (target && target.id === "sale" && !isRefresh(event.detail)) {
      actionsInFlight = Math.max(actionsInFlight - 1, 0);
    }
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    if (isRefresh(event.detail) && lastAction > lastRefresh) event.detail.shouldSwap = false;
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    const bar = event.detail.target;
    if (!bar || bar.id !== "statusbar") return;
    const now = bar.dataset.pulled;
    if (pulled === null || !$("#sale")) pulled = now;
    if (now === pulled) return;
    const active = document.activeElement;
    const scan = $("#scan");
    const busy = openDialog() || (isTyping(active) && active !== scan) || (scan && scan.value);
    if (busy || actionsInFlight) return; // at the next poll
    pulled = now;
    lastRefresh = ++requests;
    htmx.ajax("GET", "/", { target: "#sale", swap: "outerHTML", headers: { [REFRESH]: "1" } });
  });

  document.addEventListener("DOMContentLoaded", () => {
    const bar = $("#statusbar");
    if (bar) pulled = bar.dataset.pulled;
  });

  // A click on an empty part of the sell screen gives the focus back to the scan field.
  document.addEventListener("click", (event) => {
    if (!$("#scan") || openDialog()) return;
    if (!event.target.closest("input, select, textarea, button, a, summary, label, dialog, .menu")) {
      focusScan();
    }
  });

  // Enter in a quantity field: htmx sends the change; never a full-page submit.
  document.addEventListener("submit", (event) => {
    if (event.target.matches("form.qty")) event.preventDefault();
  });

  // --- item search -------------------------------------------------------------------
  function results() {
    return $$("#search-results .result");
  }

  let pickFirst = false;

  function resultsAreFor(text) {
    const list = $("#search-results .results");
    return !!list && list.dataset.q === text;
  }

  function closeSearch() {
    const box = $("#search-results");
    if (box) box.innerHTML = "";
    const search = $("#search");
    if (search) {
      search.value = "";
      search.setAttribute("aria-expanded", "false");
    }
  }

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.elt && event.detail.elt.matches("#search-results .result")) {
      // the request is on its way: clear the list, back to scanning
      setTimeout(() => {
        closeSearch();
        focusScan();
      }, 0);
    }
  });

  document.addEventListener("keydown", (event) => {
    const el = event.target;
    if (el.id === "search") {
      const found = results();
      if (event.key === "Enter") {
        event.preventDefault();
        if (resultsAreFor(el.value) && found.length) {
          found[0].click();
        } else {
          // typed faster than the search: search now, take the first of *these* results
          pickFirst = true;
          htmx.trigger(el, "search");
        }
      } else if (event.key === "ArrowDown" && found.length) {
        event.preventDefault();
        found[0].focus();
      }
    } else if (el.matches && el.matches("#search-results .result")) {
      const found = results();
      const i = found.indexOf(el);
      if (event.key === "ArrowDown" && i < found.length - 1) {
        event.preventDefault();
        found[i + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        (i > 0 ? found[i - 1] : $("#search")).focus();
      }
    }
  });

  // --- payment dialog ----------------------------------------------------------------
  function cents(text) {
    const t = (text || "").trim().replace(",", ".");
    if (!/^\d+(\.\d{0,2})?$/.test(t)) return t === "" ? 0 : NaN;
    const [whole, frac = ""] = t.split(".");
    return parseInt(whole, 10) * 100 + parseInt((frac + "00").slice(0, 2), 10);
  }

  function money(c) {
    const sign = c < 0 ? "-" : "";
    c = Math.abs(c);
    return sign + Math.floor(c / 100) + "." + String(c % 100).padStart(2, "0");
  }

  function paid(except) {
    return $$("#pay-form input.amount")
      .filter((i) => i !== except)
      .reduce((sum, i) => sum + (cents(i.value) || 0), 0);
  }

  function updateBalance() {
    const form = $("#pay-form");
    const out = $("#pay-balance");
    if (!form || !out) return;
    const left = parseInt(form.dataset.due, 10) - paid();
    out.textContent = left > 0 ? "Still due: " + money(left) : "Change: " + money(-left);
  }

  function showPay(keepErrors) {
    const dialog = $("#pay-dialog");
    const button = $("#pay-button");
    if (!dialog || (button && button.disabled && !keepErrors)) return;
    if (!dialog.open) dialog.showModal();
    const invalid = $("[aria-invalid=true]", dialog);
    (invalid || $("input.amount", dialog)).focus();
    updateBalance();
  }

  document.addEventListener("input", (event) => {
    if (event.target.matches("#pay-form input.amount")) updateBalance();
    // typing another reason picks "Other"
    if (event.target.id === "f-void-other") $("#void-other-choice").checked = true;
  });

  // --- discount and void dialogs -------------------------------------------------------
  // One dialog each, for a line (data-line) or the whole sale (0). Opened from a button,
  // it starts afresh; shown again by the server (data-open: refused, or asking for a
  // manager's PIN), it keeps what the server rendered and focuses what to correct.
  function showDialog(id, opener) {
    if (id === "pay-dialog") return showPay(false);
    const dialog = $("#" + id);
    if (!dialog || (opener && opener.disabled)) return;
    if (opener) {
      const form = $("form", dialog);
      form.reset();
      $$(".error, .notice, #manager-pin", dialog).forEach((el) => el.remove());
      $$("[aria-invalid]", dialog).forEach((el) => el.removeAttribute("aria-invalid"));
      const line = opener.dataset.line || "0";
      $("input[name=line_no]", dialog).value = line;
      const title = $("h2", dialog);
      title.textContent = opener.dataset.title || title.dataset.basketTitle;
      const confirm = $("#confirm-void", dialog);
      if (confirm) confirm.firstChild.textContent = line === "0" ? "Cancel sale " : "Void line ";
      const give = $("#give-discount", dialog);
      if (give) give.firstChild.textContent = "Give discount ";
    }
    if (!dialog.open) dialog.showModal();
    const first = $("[aria-invalid=true]", dialog) || $("#f-manager-id", dialog);
    (first || $("input:not([type=hidden]), select", dialog)).focus();
  }

  document.addEventListener("keydown", (event) => {
    // Enter in a select or on a reason chooses and sends (a select would only open)
    if (event.key !== "Enter") return;
    const form = event.target.closest && event.target.closest("#discount-form, #void-form");
    if (form && event.target.matches("select, input[type=radio]")) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-opens]");
    if (opener) showDialog(opener.dataset.opens, opener);
    const closer = event.target.closest("[data-closes]");
    if (closer) {
      $("#" + closer.dataset.closes).close();
      focusScan();
    }
    const fill = event.target.closest("[data-fill]");
    if (fill) {
      const input = $("#f-" + fill.dataset.fill);
      const left = parseInt($("#pay-form").dataset.due, 10) - paid(input);
      input.value = money(Math.max(left, 0));
      input.focus();
      updateBalance();
    }
    const dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      $("#" + dismiss.dataset.dismiss).innerHTML = "";
      focusScan();
    }
    const key = event.target.closest(".keypad [data-key]");
    if (key) {
      const pin = $("#f-pin");
      if (key.dataset.key === "⌫") pin.value = pin.value.slice(0, -1);
      else if (key.dataset.key === "OK") $("#signin-form").requestSubmit();
      else pin.value += key.dataset.key;
      pin.focus();
    }
    if (event.target.closest("#print")) window.print();
    const item = event.target.closest("#user-menu [role=menuitem]");
    if (item) {
      $("#user-menu").open = false; // the request is already on its way (htmx)
      focusScan();
    }
  });

  document.addEventListener("close", (event) => {
    if (event.target.matches && event.target.matches("dialog")) setTimeout(focusScan, 0);
  }, true);

  // --- keyboard shortcuts (documented in docs/terminal-ui.md) -------------------------
  const go = (url) => { window.location.href = url; };

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.metaKey) return;
    const menu = $("#user-menu");
    switch (event.key) {
      case "F1":
        event.preventDefault();
        if ($("#scan")) focusScan(); else go("/");
        break;
      case "F2":
        event.preventDefault();
        if ($("#search")) $("#search").focus(); else go("/");
        break;
      case "F3":
        event.preventDefault();
        go("/customers");
        break;
      case "F4":
        event.preventDefault();
        showPay(false);
        break;
      case "F6": {
        event.preventDefault();
        const discount = $("#basket-discount");
        if (discount && !discount.disabled && !openDialog()) discount.click();
        break;
      }
      case "F8": {
        event.preventDefault();
        const park = $("#park-sale");
        if (event.shiftKey || !park) go("/parked");
        else if (!park.disabled && !openDialog()) park.click();
        break;
      }
      case "F7":
        event.preventDefault();
        go("/returns");
        break;
      case "F9": {
        event.preventDefault();
        const cancel = $("#cancel-sale");
        if (cancel && !cancel.disabled && !openDialog()) cancel.click();
        break;
      }
      case "F10":
        event.preventDefault();
        if (menu) {
          menu.open = !menu.open;
          if (menu.open) $("button", menu).focus();
        }
        break;
      case "Escape":
        if (openDialog()) return; // the browser closes the dialog (then "close" refocuses)
        if (menu && menu.open) {
          menu.open = false;
          focusScan();
        } else if (results().length || document.activeElement === $("#search")) {
          closeSearch();
          focusScan();
        } else if (!$("#scan")) {
          go("/"); // Esc on another screen: back to the sale
        } else {
          focusScan();
        }
        break;
      case "Enter":
        // On the receipt page, Enter starts the next sale.
        if ($("#new-sale") && !isTyping(event.target) && !event.target.closest("button, a")) {
          event.preventDefault();
          go("/");
        }
        break;
      default:
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    const invalid = $("main [aria-invalid=true]");
    if (invalid && !$("dialog [aria-invalid=true]")) invalid.focus(); // the field to correct
    const signin = $("#signin-form");
    if (signin) {
      const invalid = $("[aria-invalid=true]", signin);
      const id = $("#f-cashier_id");
      (invalid || (id && id.value ? $("#f-pin") : id)).focus();
    }
    const pay = $("#pay-dialog");
    if (pay && pay.dataset.open) showPay(true);
    const asking = $("#discount-dialog[data-open], #void-dialog[data-open]");
    if (asking) showDialog(asking.id, null);
  });
})();
