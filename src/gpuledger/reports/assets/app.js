// gpuledger: draw every Plotly figure of the page from its embedded JSON (no network).
(function () {
  "use strict";
  function draw() {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var src = document.getElementById(el.getAttribute("data-figure"));
      if (!src || el.getAttribute("data-plotted") === "1") { return; }
      var fig = JSON.parse(src.textContent);
      var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"] };
      Plotly.newPlot(el, fig.data, fig.layout, config).then(function () {
        el.setAttribute("data-plotted", "1");
      });
    });
  }
  window.gpuledgerDraw = draw;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
