/* Dispute Desk, dashboard: draws each figure's chart with the vendored Chart.js
   from the JSON data block beside its canvas (json_script; no inline script).
   The same numbers are in the table under each chart. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  if (typeof window.Chart === "undefined") return;
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source) continue;
    const figure = JSON.parse(source.textContent);
    const stacked = figure.type === "stacked";
    // Amounts travel as decimal strings; a chart only needs them as numbers to draw.
    const datasets = figure.datasets.map((set) => ({
      label: set.label,
      data: set.data.map((value) => (value === null ? null : Number(value))),
    }));
    new window.Chart(canvas, {
      type: figure.type === "line" ? "line" : "bar",
      data: { labels: figure.labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked }, y: { stacked, beginAtZero: true } },
        plugins: { legend: { display: datasets.length > 1 } },
      },
    });
    canvas.dataset.drawn = "true";
  }
});
