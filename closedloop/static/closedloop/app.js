/* closedloop: small behaviours on top of htmx. No network access beyond this server. */
(function () {
  "use strict";
  // Ask before a button marked data-confirm submits its form (works without htmx too).
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
  // A filter select submits its form on change, so lists react without a click.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("form.filters select[data-autosubmit]")) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });
  // An htmx request the server refused (403, 404, 500) is said, not silently ignored.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail && event.detail.xhr ? " (" + event.detail.xhr.status + ")" : "";
    window.alert((document.body.getAttribute("data-error-message") || "Error") + status);
  });
})();
