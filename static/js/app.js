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

  // Grouped navigation menus (templates/partials/_nav_retailer.html): a disclosure button opens
  // its list and closes the others; Escape or a click elsewhere closes it, Escape returns focus.
  function closeMenus(except) {
    document.querySelectorAll(".nav-menu-button[aria-expanded='true']").forEach(function (button) {
      if (button === except) return;
      button.setAttribute("aria-expanded", "false");
      var menu = document.getElementById(button.getAttribute("aria-controls"));
      if (menu) menu.hidden = true;
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".nav-menu-button");
    if (!button) {
      if (!event.target.closest(".nav-submenu")) closeMenus(null);
      return;
    }
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    if (!menu) return;
    var open = button.getAttribute("aria-expanded") !== "true";
    closeMenus(button);
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.hidden = !open;
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector(".nav-menu-button[aria-expanded='true']");
    if (!open) return;
    closeMenus(null);
    open.focus();
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
