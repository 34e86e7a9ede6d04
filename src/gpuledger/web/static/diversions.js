// gpuledger: live impact preview of the diversion form (same numbers as `gpuledger impact --json`).
(function () {
  "use strict";
  var form, box, timer = null, seq = 0;
  var FIELDS = ["lot", "qty", "from_org", "to_org", "on", "payback", "policy"];

  function ready() {
    var f = new FormData(form);
    return ["lot", "qty", "from_org", "to_org", "on"].every(function (k) {
      return String(f.get(k) || "").trim() !== "";
    });
  }

  function show(state, html) {
    box.setAttribute("data-state", state);
    box.innerHTML = html;
  }

  function text(msg) {
    var p = document.createElement("p");
    p.textContent = msg;
    return p.outerHTML;
  }

  function preview() {
    if (!ready()) { return; }
    var f = new FormData(form), params = new URLSearchParams();
    FIELDS.forEach(function (k) { params.set(k, String(f.get(k) || "")); });
    var mine = ++seq;
    box.setAttribute("data-state", "loading");
    fetch("/diversions/preview?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (mine !== seq) { return; }
        if (res.ok) { show("ready", res.body.html); }
        else { show("error", '<div class="notice error" role="alert">' + text(res.body.error.message) + "</div>"); }
      })
      .catch(function (err) { if (mine === seq) { show("error", text("Preview failed: " + err)); } });
  }

  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(preview, 350);
  }

  document.addEventListener("DOMContentLoaded", function () {
    form = document.getElementById("divert-form");
    box = document.getElementById("preview");
    if (!form || !box) { return; }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    document.getElementById("preview-button").addEventListener("click", preview);
    if (ready()) { preview(); }
  });
})();
