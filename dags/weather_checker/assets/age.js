// Keeps "ran N min ago" current and turns it red once the run is older than data-stale-after seconds.
(function () {
  "use strict";
  var span = document.getElementById("age");
  if (!span) { return; }
  var finished = Date.parse(span.getAttribute("data-finished"));
  var staleAfter = Number(span.getAttribute("data-stale-after")) || 600;
  function words(seconds) {
    if (seconds < 90) { return Math.max(0, Math.round(seconds)) + " s ago"; }
    if (seconds < 5400) { return Math.round(seconds / 60) + " min ago"; }
    return Math.round(seconds / 3600) + " h ago";
  }
  function update() {
    if (isNaN(finished)) { return; }
    var seconds = (Date.now() - finished) / 1000;
    var stale = seconds > staleAfter;
    span.textContent = "ran " + words(seconds) + (stale ? " (stale: older than " + staleAfter / 60 + " min)" : "");
    span.className = stale ? "age stale" : "age fresh";
  }
  span.setAttribute("data-live", "1");  // tells tests (and the curious) that the script is running
  update();
  setInterval(update, 5000);
}());
