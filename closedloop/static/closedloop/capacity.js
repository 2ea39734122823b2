/* closedloop: the capacity outlook chart. It draws the table printed under it (#capacity-table), from the
   same numbers (#capacity-chart-data); without JavaScript the table alone is the outlook. */
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("capacity-chart");
    var source = document.getElementById("capacity-chart-data");
    if (!holder || !source || !window.echarts) return;
    var d = JSON.parse(source.textContent);
    holder.hidden = false;
    var chart = window.echarts.init(holder, null, { renderer: "svg" });
    var series = [
      { name: d.names.free, type: "bar", stack: "rooms", data: d.free, itemStyle: { color: "#1e7b3c" } },
      { name: d.names.occupied, type: "bar", stack: "rooms", data: d.occupied, itemStyle: { color: "#1d5fbf" } },
      { name: d.names.turning, type: "bar", stack: "rooms", data: d.turning, itemStyle: { color: "#d08a1a" } }
    ];
    if (d.reserve) {
      series.push({
        name: d.names.reserve, type: "line", data: d.reserve, symbol: "none",
        lineStyle: { color: "#b42318", type: "dashed", width: 2 }, itemStyle: { color: "#b42318" },
        markLine: d.first_short ? {
          symbol: "none", label: { position: "insideEndTop", formatter: d.names.short + " " + d.first_short },
          lineStyle: { color: "#b42318" }, data: [{ xAxis: d.days.indexOf(d.first_short) }]
        } : undefined
      });
    }
    chart.setOption({
      aria: { enabled: true },
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 56, right: 24, top: 40, bottom: 32 },
      xAxis: { type: "category", data: d.days },
      yAxis: { type: "value", name: d.names.rooms, minInterval: 1 },
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
