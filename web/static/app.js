// Small glue for htmx: flash messages sent in HX-Trigger, and the native <dialog> slot.
(function () {
  "use strict";

  function showFlashes(messages) {
    var box = document.getElementById("flashes");
    if (!box || !Array.isArray(messages)) return;
    box.replaceChildren();
    messages.forEach(function (item) {
      var p = document.createElement("p");
      p.className = "flash flash-" + String(item.category).replace(/[^a-z]/g, "");
      p.setAttribute("role", "status");
      p.textContent = item.message;  // text, never HTML
      box.appendChild(p);
    });
  }

  document.addEventListener("flash", function (event) {
    showFlashes(event.detail && event.detail.messages);
  });

  // A fragment swapped into #dialog that holds a <dialog> opens as a modal.
  document.addEventListener("htmx:afterSwap", function (event) {
    var slot = event.detail.target;
    if (!slot || slot.id !== "dialog") return;
    var dialog = slot.querySelector("dialog");
    if (dialog && !dialog.open) dialog.showModal();
  });

  // A form marked data-swap-conflict shows a 409 answer (what changed meanwhile) in place.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (event.detail.xhr.status === 409 && source && source.closest &&
        source.closest("[data-swap-conflict]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("closeDialog", function () {
    var dialog = document.querySelector("#dialog dialog");
    if (dialog) dialog.close();
  });

  document.addEventListener("close", function (event) {
    if (event.target.matches && event.target.matches("#dialog dialog")) {
      document.getElementById("dialog").replaceChildren();
    }
  }, true);
})();

// The dialog's close link works as a link without JavaScript; with it, it just closes.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("#dialog .close-dialog");
  if (!link) return;
  event.preventDefault();
  link.closest("dialog").close();
});

// A copy button copies the text of the field it names (data-copy) and says so.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("button[data-copy]");
  if (!button) return;
  var field = document.querySelector(button.getAttribute("data-copy"));
  if (!field) return;
  field.select();
  var done = function () { button.textContent = button.getAttribute("data-copied"); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, function () {});
  } else if (document.execCommand("copy")) {
    done();
  }
});

// Destructive actions ask first, in the page's own <dialog>: a form's data-confirm before it
// is sent, an element's hx-confirm before htmx sends it. Without JavaScript the form is sent.
(function () {
  "use strict";

  function ask(question, onYes) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      if (window.confirm(question)) onYes();
      return;
    }
    dialog.querySelector("#confirm-question").textContent = question;  // text, never HTML
    dialog.returnValue = "";
    dialog.addEventListener("close", function once() {
      dialog.removeEventListener("close", once);
      if (dialog.returnValue === "yes") onYes();
    });
    dialog.showModal();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (!question || form.dataset.confirmed === "yes") return;
    event.preventDefault();
    var submitter = event.submitter;
    ask(question, function () {
      form.dataset.confirmed = "yes";
      if (typeof form.requestSubmit === "function") form.requestSubmit(submitter || undefined);
      else form.submit();
    });
  }, true);

  document.addEventListener("htmx:confirm", function (event) {
    var question = event.detail && event.detail.question;
    if (!question) return;
    event.preventDefault();
    ask(question, function () { event.detail.issueRequest(true); });
  });
})();

// On a phone the main menu folds behind its "Menu" button.
(function () {
  "use strict";
  var nav = document.querySelector("nav.main-nav");
  var toggle = nav && nav.querySelector(".menu-toggle");
  if (!toggle) return;
  nav.classList.add("js-menu");
  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    var open = nav.classList.toggle("menu-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();

// While an htmx request is in flight, the buttons that sent it are disabled (no second
// click sends it twice) and busy (Pico draws a spinner): the page says it is working.
(function () {
  "use strict";

  function buttonsOf(element) {
    if (!element || !element.matches) return [];
    if (element.matches("button, input[type=submit]")) return [element];
    var form = element.matches("form") ? element : element.closest("form");
    return form ? Array.prototype.slice.call(
      form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]")) : [];
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    buttonsOf(event.detail.elt).forEach(function (button) {
      if (button.disabled) return;
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      button.dataset.busy = "yes";
    });
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    buttonsOf(event.detail.elt).forEach(function (button) {
      if (button.dataset.busy !== "yes") return;
      button.disabled = false;
      button.removeAttribute("aria-busy");
      delete button.dataset.busy;
    });
  });
})();

// The Billing page's running total: what is ticked against the balances the chosen order
// takes from, updated as ticks change (the server checks again when it is sent).
(function () {
  "use strict";

  function update(form) {
    var line = form.querySelector("#billing-running");
    var select = form.querySelector("select[name=order]");
    if (!line || !select) return;
    var money = new Intl.NumberFormat(document.documentElement.lang || "bg",
      {style: "currency", currency: "EUR"});
    var ticked = form.querySelectorAll("input[name=invoice]:checked");
    var total = 0;
    ticked.forEach(function (box) { total += parseInt(box.getAttribute("data-cents"), 10) || 0; });
    var sources = (select.selectedOptions[0].getAttribute("data-sources") || "").split(",");
    var available = 0;
    sources.forEach(function (source) {
      available += parseInt(form.getAttribute("data-" + source), 10) || 0;
    });
    var template = !ticked.length ? line.getAttribute("data-none")
      : total > available ? line.getAttribute("data-short") : line.getAttribute("data-covered");
    line.textContent = template
      .replace("%(count)s", String(ticked.length))
      .replace("%(total)s", money.format(total / 100))
      .replace("%(available)s", money.format(available / 100))
      .replace("%(short)s", money.format((total - available) / 100));
    line.classList.toggle("field-error", total > available);
    line.hidden = false;
  }

  function refresh(root) {
    var form = root && root.querySelector ? root.querySelector("#billing-table") : null;
    if (!form && root && root.id === "billing-table") form = root;
    if (form) update(form);
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("#billing-table");
    if (form) update(form);
  });
  document.addEventListener("DOMContentLoaded", function () { refresh(document); });
  document.addEventListener("htmx:afterSettle", function (event) { refresh(event.detail.elt); });
})();
