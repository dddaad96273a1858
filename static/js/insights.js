// BotPanel: the insights page's charts. Each <canvas data-chart="ID"> is drawn by Chart.js from
// the JSON element #ID beside it (rendered by Django's json_script, never executed), so the page
// has no inline script. A click on a bar or point opens the list of those leads, when it has one;
// the table under each chart holds the same numbers and links for the keyboard.
(function () {
  "use strict";

  function read(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function options(data) {
    var valueAxis = data.horizontal ? "x" : "y";
    var scales = {};
    scales[valueAxis] = { beginAtZero: true, ticks: { precision: 0 } };
    if (data.hoursAxis) {
      scales.hours = {
        position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
        title: { display: true, text: "hours" }
      };
    }
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      indexAxis: data.horizontal ? "y" : "x",
      interaction: { mode: "nearest", intersect: true },
      plugins: { legend: { display: data.datasets.length > 1 } },
      scales: scales,
      onClick: function (event, elements) {
        if (!elements.length) { return; }
        var hit = elements[0];
        var links = data.links[hit.datasetIndex] || [];
        if (links[hit.index]) { window.location.assign(links[hit.index]); }
      }
    };
  }

  function draw(canvas) {
    var data = read(canvas.dataset.chart);
    if (!data || !window.Chart) { return; }
    new window.Chart(canvas, {
      type: data.type,
      data: { labels: data.labels, datasets: data.datasets },
      options: options(data)
    });
  }

  function setup() {
    var canvases = document.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i++) { draw(canvases[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
