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
  function fmtMonth(n) {
    var d = new Date(n * DAY);
    return d.toLocaleDateString("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
  }
  // As many date labels as fit side by side (about 90 px each), never overlapping.
  function tickCount(canvas) {
    var width = (canvas.parentElement && canvas.parentElement.clientWidth) || 600;
    return Math.max(2, Math.min(8, Math.floor(width / 110)));
  }

  function timeSeries(canvas, data, yMin, yMax, yTitle, extra) {
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
    var scales = {
      x: { type: "linear", min: xMin, max: xMax,
           ticks: { callback: xMax - xMin > 400 ? fmtMonth : fmtDay, maxTicksLimit: tickCount(canvas), includeBounds: false,
                    maxRotation: 0, autoSkip: true, autoSkipPadding: 16 } },
      y: { min: yMin, max: yMax, title: { display: true, text: yTitle } },
    };
    if (extra) extra(datasets, scales, xMin, xMax);
    return new Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        parsing: false,
        scales: scales,
        plugins: { legend: { position: "bottom" },
                   tooltip: { callbacks: { title: function (items) { return fmtDay(items[0].parsed.x); } } } },
      },
    });
  }

  // BMD on a sensible range (not 0.665-0.705), T-scores on a second axis
  // with the -2.5 line: below it is osteoporosis.
  function bmdExtra(tscores) {
    return function (datasets, scales, xMin, xMax) {
      var ys = [];
      datasets.forEach(function (d) { d.data.forEach(function (pt) { ys.push(pt.y); }); });
      scales.y.suggestedMin = Math.min(0.5, Math.min.apply(null, ys) - 0.05);
      scales.y.suggestedMax = Math.max(1.1, Math.max.apply(null, ys) + 0.05);
      scales.y1 = { position: "right", min: -5, max: 2, title: { display: true, text: "T-score" },
                    grid: { drawOnChartArea: false } };
      (tscores || []).forEach(function (s, i) {
        if (!s.points.length) return;
        datasets.push({ label: s.label, yAxisID: "y1", borderDash: [2, 3], pointStyle: "rectRot",
                        data: s.points.map(function (p) { return { x: epochDay(p.x), y: p.y }; }),
                        borderColor: PALETTE[(i + 3) % PALETTE.length], backgroundColor: PALETTE[(i + 3) % PALETTE.length],
                        pointRadius: 4, borderWidth: 1 });
      });
      datasets.push({ label: "T-score −2.5 (osteoporosis below)", yAxisID: "y1", borderDash: [6, 4],
                      borderColor: "#a61b1b", backgroundColor: "#a61b1b", pointRadius: 0, borderWidth: 2,
                      data: [{ x: xMin, y: -2.5 }, { x: xMax, y: -2.5 }] });
    };
  }

  function monthly(canvas, data) {
    var datasets = data.series.map(function (s, i) {
      return { label: s.label, data: s.data, borderColor: PALETTE[i % PALETTE.length],
               backgroundColor: PALETTE[i % PALETTE.length], spanGaps: false, tension: 0,
               pointRadius: 3, borderWidth: 2 };
    });
    if (data.target) {
      // The target band: at or above the target is green.
      datasets.push({ label: "Target band (≥ " + data.target + " %)", data: data.labels.map(function () { return data.target; }),
                      borderColor: "#1d6b3a", borderDash: [6, 4], borderWidth: 1, pointRadius: 0,
                      backgroundColor: "rgba(29, 107, 58, 0.08)", fill: "end" });
    }
    return new Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: { x: { ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12, maxTicksLimit: tickCount(canvas) } },
                  y: { min: 0, max: 100, title: { display: true, text: "% of eligible episodes" } } },
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
      else if (kind === "bmd") {
        var t = document.getElementById("tscore-data");
        timeSeries(canvas, data, undefined, undefined, "BMD g/cm²", bmdExtra(t ? JSON.parse(t.textContent) : []));
      }
      else if (kind === "monthly") monthly(canvas, data);
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
