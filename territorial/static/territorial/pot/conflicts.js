/* Conflicts page: map + table from GET /api/v1/pot/conflicts/, download links for every report format. */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("pot-config").textContent);
  const $ = (id) => document.getElementById(id);
  const map = GeoSIG.createMap("map");
  const layer = L.featureGroup().addTo(map);
  const COLORS = { superposicion: "#e31a1c", hueco: "#6a3d9a", astilla: "#cab2d6", vecino_incompatible: "#ff7f00",
                   cruza_limite: "#1f78b4", desajuste_limite: "#a6cee3", determinante: "#b15928" };
  GeoSIG.legend(map, cfg.strings.conflict_kinds, Object.keys(COLORS).map((k) => ({ color: COLORS[k], label: cfg.kinds[k] })));
  // the zoning under the findings: the analysed plans' zones, faint, in their soil-class colours (legend below)
  const zoneLayer = L.featureGroup().addTo(map);
  zoneLayer.bringToBack();
  const CLASS = Object.fromEntries(cfg.classes.map((c) => [c.code, c]));
  GeoSIG.legend(map, cfg.strings.legend, cfg.classes.map((c) => ({ color: c.color, label: c.label })), "bottomleft");
  const MAX_ZONED_PLANS = 6;  // a department-wide answer names ~42 plans: their zones would bury the findings

  async function drawZones(plans) {
    zoneLayer.clearLayers();
    const api = cfg.api.replace(/conflicts\/$/, "plans/");
    for (const p of plans.slice(0, MAX_ZONED_PLANS)) {
      try {
        const d = await GeoSIG.fetchJSON(api + encodeURIComponent(p.id) + "/");
        L.geoJSON(d.zones, { interactive: false, style: (f) => ({ color: "#555", weight: 0.5,
          fillColor: (CLASS[f.properties.soil_class] || { color: "#999" }).color, fillOpacity: 0.3 }) }).addTo(zoneLayer);
      } catch (e) { /* the findings stand without the zoning underneath */ }
    }
    zoneLayer.bringToBack();
  }

  function query() {
    const fd = new FormData($("cf-form"));
    const q = new URLSearchParams();
    if (fd.get("plan")) q.set("plan", fd.get("plan"));
    else if (fd.get("municipality")) q.set("municipality", fd.get("municipality"));
    q.set("modes", fd.getAll("modes").join(","));
    q.set("ronda_m", fd.get("ronda_m"));
    q.set("buffer_m", fd.get("buffer_m"));
    return q;
  }

  let following = 0;  // the request being followed: a new «Calcular» abandons an older job's polling

  async function run(ev) {
    if (ev) ev.preventDefault();
    const q = query();
    const mine = ++following;
    $("cf-status").textContent = cfg.strings.loading;
    $("cf-status").className = "muted";
    $("cf-progress").hidden = true;
    try {
      let r = await GeoSIG.fetchJSON(cfg.api + "?" + q.toString());
      if (r.state === "computing") {  // 202: the whole department is computed by a job
        const job = await follow(r.job, mine);
        if (!job || mine !== following) return;
        r = await GeoSIG.fetchJSON(cfg.api + "?" + q.toString());
        if (r.state === "computing") { $("cf-status").textContent = r.detail; return; }
      }
      render(r, q);
      $("cf-status").textContent = r.scope_label + " · " + r.findings.length + " · " + r.seconds + " s";
    } catch (e) { $("cf-status").textContent = e.message; $("cf-status").className = "error"; }
  }

  // the job's progress and step on the page until it ends (polling: geosig/jobpage.js); the finished job, or null
  async function follow(job, mine) {
    const bar = $("cf-progress");
    const fill = (tpl, v) => tpl.replace(/\{(\w+)\}/g, (m, k) => (k in v ? v[k] : m));
    job = await GeoSIG.waitJob(job, function (j) {
      bar.hidden = false; bar.value = j.progress;
      $("cf-status").textContent = j.state === "queued" ? cfg.strings.computing_queued
        : fill(cfg.strings.computing, { pct: GeoSIG.fmt(j.progress, 0), message: j.message });
    }, () => mine === following);
    if (!job) return null;
    bar.hidden = true;
    if (job.state === "done") return job;
    $("cf-status").textContent = job.state === "failed" ? fill(cfg.strings.computing_failed, { error: job.error })
      : cfg.strings.computing_cancelled;
    $("cf-status").className = "error";
    return null;
  }

  function render(r, q) {
    $("demo-badge").hidden = !r.is_demo;
    layer.clearLayers();
    const tb = $("cf-table").querySelector("tbody");
    tb.replaceChildren();
    r.findings.forEach(function (f) {
      if (f.geometry) {
        // gaps can be most of a municipality: keep them light so the other findings stay visible
        L.geoJSON(f.geometry, { style: { color: COLORS[f.kind], weight: 1, fillOpacity: f.kind === "hueco" ? 0.2 : 0.6 } })
          .bindPopup(GeoSIG.text(f.message)).addTo(layer);
      }
      const tr = document.createElement("tr");
      tr.className = "conflict conflict-" + f.verdict;
      [cfg.kinds[f.kind], (f.municipality_name || "") + (f.is_demo || f.other_is_demo ? " (DEMO)" : ""), GeoSIG.fmtArea(f.area_m2),
       f.pct_zone === null || f.pct_zone === undefined ? "" : GeoSIG.fmtPct(f.pct_zone, 1), f.verdict].forEach(function (v, i) {
        const td = document.createElement("td"); td.textContent = v; if (i === 2 || i === 3) td.className = "num"; tr.appendChild(td);
      });
      tr.title = f.message;
      tb.appendChild(tr);
    });
    const sm = $("cf-summary");
    sm.replaceChildren();
    r.summary.forEach(function (s) {
      const tr = document.createElement("tr");
      [s.label, s.count, GeoSIG.fmtArea(s.area_m2)].forEach(function (v) { const td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
      sm.appendChild(tr);
    });
    $("cf-notes").textContent = r.notes.join(" ");
    renderPlans($("cf-plans"), r.plans || []);
    drawZones(r.plans || []);
    renderPlans($("cf-neighbours"), r.neighbour_plans || []);
    $("cf-plans-box").hidden = !(r.plans || []).length;
    $("cf-neighbours-box").hidden = !(r.neighbour_plans || []).length;
    $("cf-downloads").hidden = false;
    $("cf-downloads").querySelectorAll("a").forEach(function (a) {
      const qq = new URLSearchParams(q); qq.set("format", a.dataset.fmt); a.href = cfg.api + "?" + qq.toString();
    });
    if (layer.getLayers().length) map.fitBounds(layer.getBounds());
  }

  // every answer names the plans it analysed (the current approved plan per municipality, or the drafts asked for)
  function renderPlans(ul, plans) {
    ul.replaceChildren();
    plans.forEach(function (p) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = cfg.editor.replace(/\/0\/$/, "/" + encodeURIComponent(p.id) + "/");
      a.textContent = p.name;
      const bits = [p.municipality_name || p.municipality || ""];
      if (p.version !== undefined && p.version !== null) bits.push("v" + p.version);
      if (p.status_label || p.status) bits.push(p.status_label || p.status);
      li.append(p.id ? a : GeoSIG.text(p.name), GeoSIG.text(" — " + bits.filter(Boolean).join(" · ") + (p.is_demo ? " (DEMO)" : "")));
      ul.appendChild(li);
    });
  }

  $("cf-form").addEventListener("submit", run);
  const params = new URLSearchParams(window.location.search);
  if (params.get("municipality")) $("cf-muni").value = params.get("municipality");
  if (params.get("plan") || params.get("municipality")) run();
})();
