/* The public page of the plan follow-up: projects on the map by status, filters, semaphores, weighted
   progress by dimension and subregion, goals with their history chart. Text reaches the DOM as text. */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("plan-config").textContent);
  const S = cfg.strings;
  const COLORS = { formulado: "#6a51a3", viabilizado: "#2171b5", en_ejecucion: "#238b45", terminado: "#525252",
                   suspendido: "#cb181d" };
  const map = GeoSIG.createMap("map");
  const layer = L.featureGroup().addTo(map);
  const form = document.getElementById("filters");
  const statusLabels = {};
  form.querySelectorAll("#f-status option").forEach(function (o) { if (o.value) statusLabels[o.value] = o.textContent; });
  GeoSIG.legend(map, form.querySelector("label[for=f-status]").textContent,
                Object.keys(COLORS).map(function (k) { return { color: COLORS[k], label: statusLabels[k] || k }; }));

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function query() {
    const q = new URLSearchParams();
    new FormData(form).forEach(function (v, k) { if (v) q.set(k, v); });
    return q.toString();
  }
  function chip(key, label) { return el("span", "sem sem-" + key, label || S.states[key]); }
  function bar(label, value, n) {
    const row = el("div", "bar-row");
    row.appendChild(el("span", "bar-label", label));
    const track = el("span", "bar-track");
    const fill = el("span", "bar-fill");
    fill.style.width = (value === null ? 0 : Math.max(0, Math.min(100, value))) + "%";
    track.appendChild(fill);
    row.appendChild(track);
    row.appendChild(el("span", "bar-value", value === null ? S.noData : GeoSIG.fmtPct(value) + " · " + n));
    return row;
  }

  function drawProjects(fc) {
    layer.clearLayers();
    L.geoJSON(fc, {
      style: function (f) { return { color: COLORS[f.properties.status], weight: 4, fillOpacity: 0.35 }; },
      pointToLayer: function (f, ll) {
        return L.circleMarker(ll, { radius: 8, color: "#fff", weight: 1.5, fillColor: COLORS[f.properties.status], fillOpacity: 0.95 });
      },
      onEachFeature: function (f, l) {
        const p = f.properties;
        l.bindTooltip(GeoSIG.tip(function () {
          return [(p.is_demo ? S.demo + " · " : "") + p.code + " " + p.name,
                  p.status_label + " · " + S.progress + " " + GeoSIG.fmtPct(p.progress) + " · " + S.states[p.semaphore],
                  p.entity.name];
        }));
        l.on("click", function () { window.location.href = cfg.projectUrl.replace("/0/", "/" + p.id + "/"); });
      },
    }).eachLayer(function (l) { layer.addLayer(l); });
    const n = fc.features.length;
    document.getElementById("count").textContent = n ? S.projects.replace("{n}", n) : S.none;
    if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { maxZoom: 11, padding: [20, 20] });
  }

  function drawProgress(data) {
    const sem = document.getElementById("semaphores");
    sem.replaceChildren();
    Object.keys(data.semaphores).forEach(function (k) {
      const li = el("li");
      li.appendChild(chip(k));
      li.appendChild(document.createTextNode(" " + data.semaphores[k]));
      sem.appendChild(li);
    });
    const dims = document.getElementById("by-dimension");
    dims.replaceChildren();
    data.dimensions.forEach(function (d) { dims.appendChild(bar(d.name, d.progress, d.projects)); });
    if (data.unassigned.lines.length) dims.appendChild(bar(S.unassigned, data.unassigned.progress, data.unassigned.projects));
    const subs = document.getElementById("by-subregion");
    subs.replaceChildren();
    data.subregions.forEach(function (s) { subs.appendChild(bar(s.name, s.progress, s.projects)); });
  }

  // A goal's history: reported values over time, baseline and target as dashed lines (SVG built as nodes).
  function chart(g) {
    const NS = "http://www.w3.org/2000/svg", W = 280, H = 90, pad = 8;
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("class", "goal-chart");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", g.indicator);
    const t0 = Date.UTC(g.baseline.year, 11, 31), t1 = Date.UTC(g.target.year, 11, 31);
    const vals = [g.baseline.value, g.target.value].concat(g.history.map(function (r) { return r.value; }));
    const lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals), span = hi - lo || 1;
    const x = function (t) { return pad + (W - 2 * pad) * (t - t0) / (t1 - t0); };
    const y = function (v) { return H - pad - (H - 2 * pad) * (v - lo) / span; };
    function line(x1, y1, x2, y2, cls) {
      const l = document.createElementNS(NS, "line");
      [["x1", x1], ["y1", y1], ["x2", x2], ["y2", y2], ["class", cls]].forEach(function (a) { l.setAttribute(a[0], a[1]); });
      svg.appendChild(l);
    }
    line(pad, y(g.baseline.value), W - pad, y(g.baseline.value), "ref base");
    line(pad, y(g.target.value), W - pad, y(g.target.value), "ref target");
    line(x(t0), y(g.baseline.value), x(t1), y(g.target.value), "ref path");
    const pts = [[x(t0), y(g.baseline.value)]].concat(g.history.map(function (r) { return [x(Date.parse(r.date)), y(r.value)]; }));
    const pl = document.createElementNS(NS, "polyline");
    pl.setAttribute("points", pts.map(function (p) { return p[0].toFixed(1) + "," + p[1].toFixed(1); }).join(" "));
    pl.setAttribute("class", "series");
    svg.appendChild(pl);
    pts.slice(1).forEach(function (p) {
      const c = document.createElementNS(NS, "circle");
      c.setAttribute("cx", p[0]); c.setAttribute("cy", p[1]); c.setAttribute("r", 3); c.setAttribute("class", "dot");
      svg.appendChild(c);
    });
    return svg;
  }

  function drawGoals(goals) {
    const box = document.getElementById("goals");
    box.replaceChildren();
    if (!goals.length) { box.appendChild(el("p", "muted", S.none)); return; }
    goals.forEach(function (g) {
      const item = el("article", "goal");
      const head = el("p", "goal-head");
      head.appendChild(chip(g.semaphore));
      head.appendChild(document.createTextNode(" " + (g.is_demo ? S.demo + " · " : "") + g.name));
      item.appendChild(head);
      const last = g.latest ? GeoSIG.fmt(g.latest.value, 2) + " " + g.unit + " (" + g.latest.date + ")" : S.noData;
      item.appendChild(el("p", "muted", g.indicator + ": " + S.baseline + " " + GeoSIG.fmt(g.baseline.value, 2) + " (" +
        g.baseline.year + ") → " + S.target + " " + GeoSIG.fmt(g.target.value, 2) + " (" + g.target.year + "); " + last +
        "; " + S.progress + " " + GeoSIG.fmtPct(g.progress_pct) + ", " + S.expected + " " + GeoSIG.fmtPct(g.expected_pct)));
      item.appendChild(chart(g));
      box.appendChild(item);
    });
  }

  async function load() {
    const q = query();
    const sep = q ? "?" + q : "";
    document.querySelectorAll("#downloads a[data-fmt]").forEach(function (a) {
      a.href = cfg.api.export.replace("FMT", a.dataset.fmt) + sep;
    });
    const dim = new URLSearchParams(q).get("dimension");
    const [fc, progress, goals] = await Promise.all([
      GeoSIG.fetchJSON(cfg.api.projects + sep), GeoSIG.fetchJSON(cfg.api.progress + sep),
      GeoSIG.fetchJSON(cfg.api.goals + (dim ? "?dimension=" + encodeURIComponent(dim) : "")),
    ]);
    drawProjects(fc);
    drawProgress(progress);
    drawGoals(goals);
    document.body.dataset.planReady = "1";
  }
  form.addEventListener("change", function () {
    load().catch(function (e) { document.getElementById("count").textContent = e.message; });
  });
  load().catch(function (e) { document.getElementById("count").textContent = e.message; });
})();
