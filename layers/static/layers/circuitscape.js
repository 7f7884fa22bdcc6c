// Circuitscape's raster scenarios: every option of «manage.py circuitscape CONFIG.ini» as a form.
// Files go to /api/v1/corridors/inputs/ (checked by the server's safe readers) as soon as they are chosen;
// the run posts Circuitscape's own keys to /api/v1/corridors/circuitscape/ and follows the job.
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };
  const API = JSON.parse($("cs-api").textContent);
  const T = JSON.parse($("cs-strings").textContent);
  const REQUIRED = JSON.parse($("cs-required").textContent);
  const refs = {};  // Circuitscape key → {file, name} of an uploaded input
  let current = null;

  function showError(msg) { $("cs-error").textContent = msg || ""; $("cs-error").hidden = !msg; }
  function scenario() { return $("cs-scenario").value; }
  function used(el) { return el.dataset.scenarios.split(" ").indexOf(scenario()) >= 0; }

  // Only the inputs and options the chosen mode reads are shown (and sent).
  function showForScenario() {
    document.querySelectorAll(".cs-file, #cs-advanced").forEach(function (el) { el.hidden = !used(el); });
  }

  async function upload(box) {
    const input = box.querySelector("input[type=file]");
    const status = box.querySelector(".cs-file-status");
    const key = box.dataset.key;
    const f = input.files[0];
    delete refs[key];
    if (!f) { status.textContent = ""; return; }
    showError("");
    const kinds = box.dataset.kinds.split(" ");
    const kind = kinds.indexOf("list") >= 0 && /\.txt$/i.test(f.name) ? "list" : "grid";
    status.textContent = T.uploading.replace("{name}", f.name);
    const body = new FormData();
    body.append("kind", kind);
    body.append("file", f);
    try {
      const ref = await GeoSIG.fetchJSON(API.inputs, { method: "POST", body: body, headers: { "X-CSRFToken": GeoSIG.csrfToken() } });
      refs[key] = { file: ref.file, name: ref.name };
      status.textContent = T.uploaded.replace("{name}", ref.name);
    } catch (err) { input.value = ""; status.textContent = ""; showError(err.message); }
  }

  function body() {
    const b = { scenario: scenario(), output_file: $("cs-output_file").value.trim() || "circuitscape" };
    document.querySelectorAll("[data-flag]").forEach(function (el) {
      const box = el.closest("[data-scenarios]");
      if (box && box.id === "cs-advanced" && !used(box)) return;
      b[el.dataset.flag] = el.type === "checkbox" ? el.checked : el.value === "true";
    });
    document.querySelectorAll("[data-choice]").forEach(function (el) {
      const box = el.closest("#cs-advanced");
      if (!box || used(box)) b[el.dataset.choice] = el.value;
    });
    document.querySelectorAll(".cs-file").forEach(function (box) {
      if (used(box) && refs[box.dataset.key]) b[box.dataset.key] = refs[box.dataset.key];
    });
    return b;
  }

  function setRunning(on) { $("cs-run").disabled = on; $("cs-cancel").disabled = !on; }

  async function start() {
    showError("");
    const missing = ["habitat_file"].concat(REQUIRED[scenario()]).filter(function (k) { return !refs[k]; });
    if (missing.length) {
      showError(missing.map(function (k) {
        return T.needFile.replace("{label}", document.querySelector("label[for=cs-" + k + "]").textContent.trim());
      }).join(" "));
      return;
    }
    $("cs-results").hidden = true;
    try {
      const run = await GeoSIG.fetchJSON(API.runs, { method: "POST", body: JSON.stringify(body()),
        headers: { "Content-Type": "application/json", "X-CSRFToken": GeoSIG.csrfToken() } });
      current = run;
      if (run.cached && run.state === "done") $("cs-status").textContent = T.cached;
      follow(run);
    } catch (err) { showError(err.message); setRunning(false); }
  }

  // polling and states: geosig/jobpage.js (a Circuitscape run is a job: its answer names the state «state»)
  const runPage = { active: ["queued", "running"], stateKey: "state", ids: { bar: "cs-bar", status: "cs-status" },
                    strings: T, setRunning: setRunning, showError: showError,
                    cached: function (run) { return run.cached; }, done: function (run) { results(run); } };
  function follow(run) { GeoSIG.followRun(run, runPage); }

  function results(run) {
    const rep = run.report || {};
    $("cs-summary").textContent = T.summary.replace("{mode}", rep.scenario || "").replace("{nodes}", GeoSIG.fmt(rep.nodes, 0))
      .replace("{solves}", GeoSIG.fmt(rep.solves, 0)).replace("{secs}", GeoSIG.fmt(rep.seconds, 1));
    const notes = $("cs-notes");
    notes.textContent = "";
    (rep.notes || []).forEach(function (n) { const li = document.createElement("li"); li.textContent = n; notes.appendChild(li); });
    // Circuitscape's table: a matrix with the ids on the first row and column (pairwise), or «id R» rows
    const tbody = $("cs-resistances").querySelector("tbody");
    tbody.textContent = "";
    (rep.resistances || []).forEach(function (row, i) {
      const tr = document.createElement("tr");
      row.forEach(function (v, j) {
        const cell = document.createElement(i === 0 && rep.scenario === "pairwise" || j === 0 ? "th" : "td");
        cell.textContent = (i === 0 && rep.scenario === "pairwise") || j === 0 ? String(v) : GeoSIG.fmt(v, 6);
        tr.appendChild(cell);
      });
      tbody.appendChild(tr);
    });
    $("cs-resistances").closest(".table-scroll").hidden = !(rep.resistances || []).length;
    const ul = $("cs-downloads");
    ul.textContent = "";
    Object.keys(run.downloads || {}).forEach(function (name) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = run.downloads[name]; a.textContent = name; a.setAttribute("download", name);
      li.appendChild(a); ul.appendChild(li);
    });
    $("cs-results").hidden = false;
  }

  async function cancel() {
    if (!current) return;
    clearTimeout(runPage.timer);
    try {
      follow(await GeoSIG.fetchJSON(current.urls.cancel, { method: "POST", headers: { "X-CSRFToken": GeoSIG.csrfToken() } }));
    } catch (err) { showError(err.message); }
  }

  document.querySelectorAll(".cs-file").forEach(function (box) {
    box.querySelector("input[type=file]").addEventListener("change", function () { upload(box); });
  });
  $("cs-scenario").addEventListener("change", showForScenario);
  $("cs-run").addEventListener("click", start);
  $("cs-cancel").addEventListener("click", cancel);
  showForScenario();
})();
