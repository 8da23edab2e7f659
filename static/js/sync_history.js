// View History's charts (the last 30 days, the last 12 months), drawn by Chart.js from the JSON the page embeds.
(function () {
  if (typeof Chart === "undefined") return;
  function draw(canvasId, dataId) {
    const el = document.getElementById(canvasId);
    const source = document.getElementById(dataId);
    if (!el || !source) return;
    const d = JSON.parse(source.textContent);
    new Chart(el, {
      data: {
        labels: d.labels,
        datasets: [
          { type: "bar", label: "People added", data: d.created, yAxisID: "people", backgroundColor: "#2e7d32" },
          { type: "bar", label: "People deactivated", data: d.deactivated, yAxisID: "people", backgroundColor: "#c62828" },
          { type: "line", label: "Issues", data: d.issues, yAxisID: "people", borderColor: "#8a5300" },
          { type: "line", label: "Duration (minutes)", data: d.minutes, yAxisID: "minutes", borderColor: "#1565c0" },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          people: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "People / issues" } },
          minutes: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "Minutes" } },
        },
      },
    });
  }
  draw("history-chart", "history-chart-data");
  draw("history-month-chart", "history-month-chart-data");
})();
