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
