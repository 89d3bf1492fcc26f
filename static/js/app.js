// Page behaviour that used to live in inline handlers, moved here so the Content-Security-Policy
// can forbid inline script (script-src 'self'). Delegated listeners also cover HTML that htmx
// swaps in later.
(function () {
  "use strict";

  // The menu button on narrow screens opens and closes the main navigation.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".nav-toggle");
    if (!toggle) return;
    var nav = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!nav) return;
    var open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // <form data-confirm="Question?"> asks before it is sent; "Cancel" keeps it unsent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
