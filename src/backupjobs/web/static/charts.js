// A customer's charts, drawn with uPlot (vendored) from the figure's data-series JSON.
"use strict";

(function () {
  const palette = { finished: "#2e8b4a", warning: "#b08800", failed: "#c62828", line: "#0b5cad" };

  function size(figure) {
    return { width: Math.max(260, figure.clientWidth - 16), height: 200 };
  }

  function bytesLabel(value) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return value.toFixed(value >= 10 || unit === 0 ? 0 : 1) + " " + units[unit];
  }

  function draw(figure) {
    const data = JSON.parse(figure.dataset.series);
    const days = data.days.map((day) => Date.parse(day + "T12:00:00Z") / 1000);
    let options;
    let series;
    if (figure.dataset.chart === "outcomes") {
      series = [days, data.finished, data.warning, data.failed];
      options = {
        ...size(figure),
        series: [
          {},
          { label: "Finished", stroke: palette.finished, fill: palette.finished + "33", width: 2 },
          { label: "With exception", stroke: palette.warning, width: 2 },
          { label: "Failed", stroke: palette.failed, fill: palette.failed + "22", width: 2 },
        ],
        axes: [{}, { label: "jobs" }],
        scales: { x: { time: true } },
      };
    } else {
      series = [days, data.bytes];
      options = {
        ...size(figure),
        series: [{}, { label: "Backup size", stroke: palette.line, fill: palette.line + "22", width: 2,
          value: (u, v) => (v == null ? "—" : bytesLabel(v)) }],
        axes: [{}, { values: (u, values) => values.map(bytesLabel), size: 70 }],
        scales: { x: { time: true } },
      };
    }
    figure.querySelectorAll(".uplot").forEach((old) => old.remove());
    const plot = new uPlot(options, series, figure);
    window.addEventListener("resize", () => plot.setSize(size(figure)));
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof uPlot === "undefined") return;
    document.querySelectorAll("figure[data-chart]").forEach(draw);
  });
})();
