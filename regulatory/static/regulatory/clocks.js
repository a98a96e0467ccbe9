// Live countdowns for elements <span class="countdown" data-due="ISO 8601">.
(function () {
  "use strict";
  function text(ms) {
    var sign = ms < 0 ? "overdue by " : "in ";
    var left = Math.floor(Math.abs(ms) / 1000);
    var days = Math.floor(left / 86400);
    var hours = Math.floor((left % 86400) / 3600);
    var minutes = Math.floor((left % 3600) / 60);
    return sign + (days ? days + " d " : "") + hours + " h " + String(minutes).padStart(2, "0") + " min";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      el.textContent = text(Date.parse(el.getAttribute("data-due")) - now);
    });
  }
  tick();
  setInterval(tick, 30000);
})();
