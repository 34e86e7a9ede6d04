// gpuledger: the pages' behaviour, for the dashboard and the offline report alike (no network).
// - charts: every [data-figure] drawn from its embedded JSON once Plotly is there (no toolbar);
//   a click on a point that carries a link ("/..." or "#...") follows it (drill-down);
// - tables: sortable headers (table.sortable) and CSV export (button[data-csv]);
// - forms: confirmation before a decision (form[data-confirm]), no submit on Enter in a field
//   (form[data-no-enter]), a progress note while a slow page is computed (form[data-progress]).
(function () {
  "use strict";

  // ------------------------------------------------------------------ charts
  var NARROW = 560;

  function link(point) {
    var c = point && point.customdata;
    var url = Array.isArray(c) ? c[c.length - 1] : c;
    return typeof url === "string" && (url.charAt(0) === "/" || url.charAt(0) === "#") ? url : null;
  }

  function fit(layout, width) {
    // Phones: a little more height for the legend below the plot, smaller fonts.
    if (width >= NARROW) { return layout; }
    var out = JSON.parse(JSON.stringify(layout));
    out.height = Math.max(out.height || 0, out.narrow_height || 440);
    out.font = Object.assign({}, out.font, { size: 11 });
    if (out.margin) { out.margin.r = 8; }
    return out;
  }

  function draw() {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var src = document.getElementById(el.getAttribute("data-figure"));
      if (!src || el.getAttribute("data-plotted")) { return; }
      el.setAttribute("data-plotted", "0");
      var fig = JSON.parse(src.textContent);
      var config = { responsive: true, displayModeBar: false, displaylogo: false };
      Plotly.newPlot(el, fig.data, fit(fig.layout, el.clientWidth), config).then(function () {
        el.setAttribute("data-plotted", "1");
        el.on("plotly_click", function (ev) {
          var url = ev && ev.points && link(ev.points[0]);
          if (url) { window.location.assign(url); }
        });
      });
    });
  }

  // Plotly (4.8 MB) is fetched only by pages with charts (body[data-plotly]), and only after
  // the page's load event: the numbers and tables are usable first, the charts follow.
  function whenPlotly() {
    if (typeof Plotly !== "undefined") { draw(); return; }
    var src = document.body.getAttribute("data-plotly");
    if (!src) { return; }
    function fetchPlotly() {
      var script = document.createElement("script");
      script.src = src;
      script.id = "plotly-js";
      script.addEventListener("load", draw);
      document.head.appendChild(script);
    }
    if (document.readyState === "complete") { fetchPlotly(); }
    else { window.addEventListener("load", function () { setTimeout(fetchPlotly, 0); }); }
  }

  // ------------------------------------------------------------------ tables
  function cellValue(cell) {
    if (!cell) { return ""; }
    var v = cell.getAttribute("data-value");
    return v !== null ? v : cell.innerText.trim();
  }

  function sortKey(text) {
    var n = text.replace(/[,\s]|GPUs|GPU-days|days?|USD|%/g, "");
    return /^[+-]?\d+(\.\d+)?$/.test(n) ? parseFloat(n) : null;
  }

  function sortBy(table, col, button) {
    var th = button.closest("th");
    var asc = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return r.cells.length > 1; });
    rows.sort(function (a, b) {
      var x = cellValue(a.cells[col]), y = cellValue(b.cells[col]);
      var nx = sortKey(x), ny = sortKey(y), d;
      if (nx !== null && ny !== null) { d = nx - ny; }
      else if (x === "" || y === "") { d = x === "" ? 1 : -1; }
      else { d = x.localeCompare(y); }
      return asc ? d : -d;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function sortable(table) {
    table.querySelectorAll("thead th").forEach(function (th, col) {
      if (th.querySelector("button")) { return; }
      var b = document.createElement("button");
      b.type = "button";
      b.className = "sort";
      b.textContent = th.textContent;
      b.title = "Sort by " + th.textContent;
      th.textContent = "";
      th.appendChild(b);
      b.addEventListener("click", function () { sortBy(table, col, b); });
    });
  }

  function csvField(text) {
    return /[",\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function tableCsv(table) {
    var lines = [];
    Array.prototype.forEach.call(table.rows, function (r) {
      if (r.cells.length === 1 && r.parentNode.tagName === "TBODY") { return; } // "no rows"
      lines.push(Array.prototype.map.call(r.cells, function (c) {
        return csvField(r.parentNode.tagName === "THEAD" ? c.innerText.trim() : cellValue(c));
      }).join(","));
    });
    return lines.join("\r\n") + "\r\n";
  }

  function download(button) {
    var table = document.getElementById(button.getAttribute("data-csv"));
    if (!table) { return; }
    var blob = new Blob([tableCsv(table)], { type: "text/csv;charset=utf-8" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = (button.getAttribute("data-csv-name") || table.id) + ".csv";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }

  window.gpuledgerCsv = tableCsv;

  // ------------------------------------------------------------------ forms
  function confirmFirst(form, ev) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || form.getAttribute("data-confirmed") === "1") { return; }
    ev.preventDefault();
    dialog.querySelector("[data-confirm-text]").textContent = form.getAttribute("data-confirm");
    var from = form.getAttribute("data-confirm-with");
    var extra = from ? document.getElementById(from) : null;
    dialog.querySelector("[data-confirm-detail]").textContent = extra ? extra.innerText.trim() : "";
    var yes = dialog.querySelector("[data-confirm-yes]");
    yes.textContent = form.getAttribute("data-confirm-button") || "Confirm";
    yes.className = form.getAttribute("data-confirm-class") || "";
    dialog.onclose = function () {
      if (dialog.returnValue === "yes") {
        form.setAttribute("data-confirmed", "1");
        form.submit();
      }
    };
    dialog.returnValue = "";
    dialog.showModal();
  }

  function noEnter(form, ev) {
    var t = ev.target;
    if (ev.key !== "Enter" || !t || t.tagName === "TEXTAREA" || t.tagName === "BUTTON") { return; }
    ev.preventDefault();
    var instead = form.getAttribute("data-no-enter");
    var button = instead ? document.getElementById(instead) : null;
    if (button) { button.click(); }
  }

  function progress(form) {
    var note = document.getElementById("progress");
    if (!note) { return; }
    note.querySelector("[data-progress-text]").textContent = form.getAttribute("data-progress");
    note.hidden = false;
  }

  function wire() {
    document.querySelectorAll("table.sortable").forEach(sortable);
    document.querySelectorAll("button[data-csv]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { download(b); });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (ev) { confirmFirst(f, ev); });
    });
    document.querySelectorAll("form[data-no-enter]").forEach(function (f) {
      f.addEventListener("keydown", function (ev) { noEnter(f, ev); });
    });
    document.querySelectorAll("form[data-progress]").forEach(function (f) {
      f.addEventListener("submit", function () { progress(f); });
    });
    whenPlotly();
  }

  window.gpuledgerDraw = draw;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
