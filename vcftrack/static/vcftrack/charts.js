/* Charts from JSON data blocks (<script type="application/json">, never
   executed), drawn with Chart.js served from this origin. Every chart has
   a data table beside it for screen readers and printing. */
(function () {
  "use strict";
  var DAY = 86400000;
  var PALETTE = ["#1f5fa8", "#b3541e", "#2e7d4f", "#7a3fa0", "#a61b4a", "#4b5563"];

  function epochDay(iso) { return Math.round(Date.parse(iso + "T00:00:00Z") / DAY); }
  function fmtDay(n) {
    var d = new Date(n * DAY);
    return d.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  }

  function timeSeries(canvas, data, yMin, yMax, yTitle) {
    var datasets = data.map(function (s, i) {
      return {
        label: s.label,
        data: s.points.map(function (p) { return { x: epochDay(p.x), y: p.y }; }),
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        tension: 0, pointRadius: 4, borderWidth: 2,
      };
    });
    var xs = [];
    datasets.forEach(function (d) { d.data.forEach(function (pt) { xs.push(pt.x); }); });
    var xMin = Math.min.apply(null, xs), xMax = Math.max.apply(null, xs);
    // A single date (or very close ones) gets a readable window around it.
    if (xMax - xMin < 60) { xMin -= 45; xMax += 45; }
    return new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        parsing: false,
        scales: {
          x: { type: "linear", min: xMin, max: xMax, ticks: { callback: fmtDay, maxTicksLimit: 6 } },
          y: { min: yMin, max: yMax, title: { display: true, text: yTitle } },
        },
        plugins: { tooltip: { callbacks: { title: function (items) { return fmtDay(items[0].parsed.x); } } } },
      },
    });
  }

  function monthly(canvas, data) {
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s, i) {
          return { label: s.label, data: s.data, borderColor: PALETTE[i % PALETTE.length],
                   backgroundColor: PALETTE[i % PALETTE.length], spanGaps: true, tension: 0,
                   pointRadius: 3, borderWidth: 2 };
        }),
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: { y: { min: 0, max: 100, title: { display: true, text: "% of eligible episodes" } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  function draw() {
    if (typeof Chart === "undefined") return;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#1f2933";
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-source"));
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var kind = canvas.getAttribute("data-chart");
      if (kind === "pain") timeSeries(canvas, data, 0, 10, "Pain NRS (0–10)");
      else if (kind === "bmd") timeSeries(canvas, data, undefined, undefined, "BMD g/cm²");
      else if (kind === "monthly") monthly(canvas, data);
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
