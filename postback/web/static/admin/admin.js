/* Admin pages: copy buttons and confirmations. No inline scripts (the pages' CSP forbids them). */
"use strict";
(function () {
  function selectAndCopy(field) {
    if (typeof field.select === "function") {
      field.focus();
      field.select();
    } else {
      var range = document.createRange();
      range.selectNodeContents(field);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function say(button, text) {
    if (!button.dataset.label) {
      button.dataset.label = button.textContent;
    }
    button.textContent = text;
    window.setTimeout(function () {
      button.textContent = button.dataset.label;
    }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var field = document.getElementById(button.dataset.copy);
    if (!field) {
      return;
    }
    var text = "value" in field ? field.value : field.textContent;
    var fallback = function () {
      say(button, selectAndCopy(field) ? button.dataset.copied : button.dataset.failed);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        say(button, button.dataset.copied);
      }, fallback);
    } else {
      fallback();
    }
  });

  document.addEventListener("submit", function (event) {
    var message = event.target.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();
