// The "view as" banner's countdown: the minutes left, updated every 15 seconds. The server ends
// the view on the first request after it expired (dropship/accounts/view_as.py). Without script
// the banner shows the end time and the time left when the page was served.
// An htmx edit refused by the read-only view (403 with X-View-As) swaps nothing: its message is
// shown in the banner instead.
(function () {
  "use strict";
  var notice = document.querySelector("[data-view-as-notice]");
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (!notice || !xhr || xhr.getResponseHeader("X-View-As") !== "read-only") return;
    notice.textContent = xhr.responseText;
    notice.hidden = false;
  });
  var clock = document.querySelector("[data-view-as-expires]");
  var left = document.querySelector("[data-view-as-left]");
  if (!clock || !left) return;
  var expires = Number(clock.getAttribute("data-view-as-expires")) * 1000;
  var timer = null;
  function update() {
    var minutes = Math.ceil((expires - Date.now()) / 60000);
    if (minutes <= 0) {
      left.textContent = "time is up: the next page ends the view";
      window.clearInterval(timer);
      return;
    }
    left.textContent = minutes === 1 ? "1 minute left" : minutes + " minutes left";
  }
  timer = window.setInterval(update, 15000);
  update();
})();
