/* Dashboard charts (Chart.js, served locally): numbers on hover, PNG and CSV download per chart. */
(function () {
  "use strict";
  function fmt(value, percent) {
    if (value === null || value === undefined) return "—";
    return percent ? value.toLocaleString() + "%" : value.toLocaleString();
  }
  function download(name, href) {
    var a = document.createElement("a");
    a.href = href; a.download = name; document.body.appendChild(a); a.click(); a.remove();
  }
  function csv(spec) {
    var lines = [spec.headers].concat(spec.rows).map(function (row) {
      return row.map(function (cell) {
        var text = cell === null || cell === undefined ? "" : String(cell);
        return /[",\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
      }).join(",");
    });
    return "data:text/csv;charset=utf-8," + encodeURIComponent("\ufeff" + lines.join("\r\n"));
  }
  function draw(spec) {
    var canvas = document.getElementById(spec.id);
    if (!canvas || !window.Chart) return;
    var datasets = spec.datasets.map(function (d) { return {label: d.label, data: d.data, spanGaps: true}; });
    if (spec.target !== null && spec.target !== undefined) {
      datasets.push({label: canvas.dataset.targetLabel || "Target", data: spec.labels.map(function () { return spec.target; }),
                     borderDash: [6, 4], pointRadius: 0, fill: false});
    }
    var chart = new window.Chart(canvas, {
      type: spec.type,
      data: {labels: spec.labels, datasets: datasets},
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: {mode: "index", intersect: false},
        scales: {x: {stacked: spec.stacked}, y: {stacked: spec.stacked, beginAtZero: true,
                 ticks: {callback: function (v) { return fmt(v, spec.percent); }}}},
        plugins: {tooltip: {callbacks: {label: function (ctx) {
          return ctx.dataset.label + ": " + fmt(ctx.parsed.y, spec.percent);
        }}}, legend: {display: datasets.length > 1}}
      }
    });
    var box = canvas.closest(".an-chart");
    box.querySelector("[data-png]").addEventListener("click", function () {
      download(spec.key + ".png", chart.toBase64Image("image/png", 1));
    });
    box.querySelector("[data-csv]").addEventListener("click", function () {
      download(spec.key + ".csv", csv(spec));
    });
  }
  function init() {
    var data = document.getElementById("charts-data");
    if (!data) return;
    JSON.parse(data.textContent).forEach(draw);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
