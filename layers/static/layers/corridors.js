/* "Corredores ecológicos": pick cores, edit the resistance recipe, run, follow progress, cancel, show
 * results (cores used, least-cost paths, truncated corridors) and downloads. Data from /api/v1/corridors/. */
(function () {
  "use strict";
  const API = JSON.parse(document.getElementById("corridors-api").textContent);
  const T = JSON.parse(document.getElementById("corridors-strings").textContent);
  const map = GeoSIG.createMap("map");
  window.GeoSIGCorridorsMap = map;
  const $ = function (id) { return document.getElementById(id); };
  const drawn = L.featureGroup().addTo(map);
  const state = { options: null, selected: new Set(), markers: L.layerGroup().addTo(map), results: L.layerGroup().addTo(map),
                  run: null, timer: null, geometryType: "point", files: { cores: null, raster: null, table: null } };

  const el = GeoSIG.el;  // geosig/jobpage.js
  function fmt(n, d) { return (n === null || n === undefined) ? "—" : GeoSIG.fmt(n, d); }
  function showError(msg) { const e = $("error"); e.textContent = msg || ""; e.hidden = !msg; }

  // Core names come from layer attributes or titles: they reach the DOM and the tooltips only as text.
  // ------------------------------------------------------------------ cores
  // accent- and case-insensitive filter: "reserva rio" finds "Reserva … Río …"
  function fold(s) { return String(s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }
  function matches(c) {
    const hay = fold(c.name + " " + c.class);
    return fold($("core-filter").value).split(/\s+/).filter(Boolean).every(function (w) { return hay.includes(w); });
  }
  function renderCores() {
    const list = $("core-list");
    list.replaceChildren();
    state.markers.clearLayers();
    state.options.cores.forEach(function (c) {
      const sel = state.selected.has(c.fid);
      if (matches(c)) {
        const box = el("input", { type: "checkbox", "data-fid": String(c.fid) });
        box.checked = sel;
        if (!c.in_dem) box.disabled = true;
        box.addEventListener("change", function () {
          if (box.checked) state.selected.add(c.fid); else state.selected.delete(c.fid);
          renderCores();
        });
        list.appendChild(el("label", { class: c.in_dem ? "" : "off" },
          [box, " " + c.name + " ", el("span", { class: "muted", text: "(" + c.class + (c.in_dem ? "" : "; " + T.noDem) + ")" })]));
      }
      if (c.in_dem) {
        L.circleMarker([c.lat, c.lon], { radius: sel ? 6 : 3, color: sel ? "#1b7837" : "#888", weight: 1,
                                          fillOpacity: sel ? 0.9 : 0.4 }).bindTooltip(GeoSIG.text(c.name)).addTo(state.markers);
      }
    });
    $("core-count").textContent = state.selected.size + " " + T.selected +
      (drawn.getLayers().length ? " + " + drawn.getLayers().length + " " + T.drawn : "");
  }

  // ------------------------------------------------------------------ resistance table
  function layerSelect(source, value) {
    const s = el("select", { class: "res-layer", "aria-label": "capa" });
    const opts = (source === "proximity" || source === "barrier") ? state.options.vector_layers : state.options.raster_layers;
    opts.forEach(function (l) { const o = el("option", { value: l.slug, text: l.title }); if (l.slug === value) o.selected = true; s.appendChild(o); });
    return s;
  }
  function paramFor(entry) {
    if (entry.source === "elevation") return String(entry.reference || 1500);
    if (entry.source === "proximity") return String(entry.scale || 1000);
    if (entry.source === "barrier") return entry.absolute ? "absoluta" : String(entry.buffer || 0);
    if (entry.source === "landcover") return Object.entries(entry.table || {}).map(function ([k, v]) { return k + "=" + v; }).join("; ");
    return "";
  }
  function addRow(entry) {
    const tr = el("tr");
    const src = el("select", { class: "res-source", "aria-label": "fuente" });
    state.options.sources.forEach(function (s) { const o = el("option", { value: s, text: T.sourceLabels[s] || s }); if (s === entry.source) o.selected = true; src.appendChild(o); });
    const w = el("input", { class: "res-weight", type: "number", step: "0.1", min: "0", value: String(entry.weight), "aria-label": "peso" });
    const cell = el("td");
    const defaultLayer = entry.layer || ((entry.source === "slope" || entry.source === "elevation") ? "dem-srtm3" : "");
    cell.appendChild(layerSelect(entry.source, defaultLayer));
    const p = el("input", { class: "res-param", type: "text", value: paramFor(entry), "aria-label": "parámetro" });
    src.addEventListener("change", function () { cell.replaceChildren(layerSelect(src.value, "")); });
    const rm = el("button", { type: "button", text: "×", title: T.remove, "aria-label": T.remove });
    rm.addEventListener("click", function () { tr.remove(); });
    [el("td", {}, [src]), el("td", {}, [w]), cell, el("td", {}, [p]), el("td", {}, [rm])].forEach(function (td) { tr.appendChild(td); });
    document.querySelector("#res-table tbody").appendChild(tr);
  }
  function resetRecipe() {
    document.querySelector("#res-table tbody").replaceChildren();
    state.options.derived_recipe.forEach(addRow);
    $("res-label").textContent = state.options.derived_label;
    state.derived = true;
  }
  function recipe() {
    return Array.from(document.querySelectorAll("#res-table tbody tr")).map(function (tr) {
      const e = { source: tr.querySelector(".res-source").value, weight: parseFloat(tr.querySelector(".res-weight").value || "0"),
                  layer: tr.querySelector(".res-layer").value };
      const p = tr.querySelector(".res-param").value.trim();
      if (e.source === "elevation") e.reference = parseFloat(p || "1500");
      if (e.source === "proximity") e.scale = parseFloat(p || "1000");
      if (e.source === "barrier") { if (p === "absoluta") e.absolute = true; else e.buffer = parseFloat(p || "0"); }
      if (e.source === "landcover") {
        e.table = {};
        p.split(";").forEach(function (kv) { const [k, v] = kv.split("="); if (k && v) e.table[k.trim()] = parseFloat(v); });
      }
      return e;
    });
  }
  function sameAsDerived(r) {
    return JSON.stringify(r.map(function (e) { return [e.source, e.weight]; })) ===
           JSON.stringify(state.options.derived_recipe.map(function (e) { return [e.source, e.weight]; })) &&
           r.every(function (e, i) { const d = state.options.derived_recipe[i];
             return (e.reference || null) === (d.reference || null) && (e.scale || null) === (d.scale || null) &&
                    (!d.layer || d.layer === e.layer); });
  }

  // ------------------------------------------------------------------ run
  function num(id) { const v = $(id).value; return v === "" ? null : parseFloat(v); }
  function params() {
    const r = recipe();
    const cores = {};
    if (state.files.cores) {
      cores.file = state.files.cores;
      const nf = $("cores-name-field").value.trim();
      if (nf) cores.name_field = nf;
    }
    if (state.selected.size) {
      cores.layer = $("core-layer").value;
      cores.ids = Array.from(state.selected).sort(function (a, b) { return a - b; });
    }
    if (drawn.getLayers().length) cores.geojson = drawn.toGeoJSON();
    const p = { cores: cores,
                resistance: sameAsDerived(r) ? "derivada" : r, cell_size: num("cell"), width: num("width"),
                pinch: $("pinch").checked };
    if (state.files.raster) {  // a raster of one's own: on its grid unless the box is unticked
      p.resistance = { raster: state.files.raster };
      if (state.files.table) p.resistance.table = state.files.table;
      if ($("res-native").checked) delete p.cell_size;
    }
    if (p.pinch) p.circuit = { connectivity: parseInt($("circuit-connectivity").value, 10),
                               averaging: $("circuit-averaging").value, combine: $("circuit-combine").value };
    if (state.geometryType === "point" && num("radius")) p.point_radius = num("radius");
    if (num("maxcwd")) p.max_link_cwd = num("maxcwd");
    if (num("dispersal")) p.dispersal = num("dispersal");
    return p;
  }
  function setRunning(on) { $("run").disabled = on || $("run").dataset.locked === "1"; $("cancel").disabled = !on; }

  async function start() {
    showError("");
    if (!state.files.cores && state.selected.size + drawn.getLayers().length < 2) { showError(T.needTwo); return; }
    $("results").hidden = true; state.results.clearLayers();
    try {
      const run = await GeoSIG.fetchJSON(API.runs, { method: "POST", body: JSON.stringify(params()),
        headers: { "Content-Type": "application/json", "X-CSRFToken": GeoSIG.csrfToken() } });
      state.run = run;
      if (run.cached && run.status === "done") $("status").textContent = T.cached;
      follow(run);
    } catch (err) { showError(err.message); setRunning(false); }
  }
  // polling and states: geosig/jobpage.js (a corridor run's queued state is «pending»)
  const runPage = { active: ["pending", "running"], strings: T, setRunning: setRunning, showError: showError,
                    cached: function (run) { return run.cached; }, done: function (run) { loadResults(run); } };
  function follow(run) { GeoSIG.followRun(run, runPage); }
  async function cancel() {
    if (!state.run) return;
    try {
      await GeoSIG.fetchJSON(state.run.urls.cancel, { method: "POST", headers: { "X-CSRFToken": GeoSIG.csrfToken() } });
    } catch (err) { showError(err.message); }
  }

  // ------------------------------------------------------------------ results
  async function loadResults(run) {
    const res = await GeoSIG.fetchJSON(run.urls.results);
    const rep = res.report;
    const m = res.map;
    const corr = L.geoJSON(m.corridors, { style: { color: "#2166ac", weight: 1, fillColor: "#67a9cf", fillOpacity: 0.45 },
                                          className: "corridor-poly" }).addTo(state.results);
    const cores = L.geoJSON(m.cores, { style: { color: "#1b7837", weight: 2, fillOpacity: 0.6 } })
      .bindTooltip(GeoSIG.tip(function (l) { return l.feature.properties.name + " — " + l.feature.properties.representation; })).addTo(state.results);
    // Linkage Mapper's _LCPs attributes: Link_Type 1 = active corridor, negative = dropped
    const paths = L.geoJSON(m.paths, { style: function (f) { return { color: f.properties.Link_Type === 1 ? "#b2182b" : "#999",
                                       weight: 2, dashArray: f.properties.Link_Type === 1 ? null : "4 4" }; } })
      .bindTooltip(GeoSIG.tip(function (l) { const p = l.feature.properties; return p.Core1_Name + " – " + p.Core2_Name + ": " + fmt(p.CW_Dist, 0); }))
      .addTo(state.results);
    if (res.current) {
      L.imageOverlay(res.current.url, res.current.bounds, { opacity: 0.85, className: "current-overlay" }).addTo(state.results);
      corr.setStyle({ fillOpacity: 0.15 });
    }
    const b = state.results.getLayers().length ? L.featureGroup([corr, cores, paths]).getBounds() : null;
    if (b && b.isValid()) map.fitBounds(b, { padding: [20, 20] });
    GeoSIG.legend(map, T.legend, [{ color: "#1b7837", label: T.cores }, { color: "#b2182b", label: T.paths },
                                  { color: "#67a9cf", label: T.corridors }]
                                  .concat(res.current ? [{ color: "#fcffa4", label: T.current }] : []));
    const kept = rep.links.filter(function (l) { return l.status === "ok" || l.status === "touching"; }).length;
    $("summary").textContent = T.summary.replace("{cores}", rep.cores.length).replace("{links}", rep.links.length)
      .replace("{kept}", kept).replace("{rows}", fmt(rep.grid.rows, 0)).replace("{cols}", fmt(rep.grid.cols, 0))
      .replace("{cell}", fmt(rep.grid.cell_size, 1)).replace("{secs}", fmt(rep.seconds, 1));
    const notes = $("notes"); notes.replaceChildren();
    [rep.resistance_label].concat(rep.recipe.length ? ["R = " + rep.recipe.join(" + ")] : []).concat(rep.notes)
      .forEach(function (n) { notes.appendChild(el("li", { text: n })); });
    const tb = document.querySelector("#links tbody"); tb.replaceChildren();
    rep.links.forEach(function (l) {
      tb.appendChild(el("tr", { class: "link-" + l.status }, [el("td", { text: l.name_a }), el("td", { text: l.name_b }),
        el("td", { text: T.status[l.status] || l.status }), el("td", { text: fmt(l.euclid_dist / 1000, 1) }),
        el("td", { text: fmt(l.cwd, 0) }), el("td", { text: fmt(l.lcp_length / 1000, 1) }),
        el("td", { text: fmt(l.cwd_to_euclid, 2) }), el("td", { text: fmt(l.cwd_to_path, 2) }),
        el("td", { text: fmt(l.effective_resistance, 3) })]));
    });
    const net = rep.network;
    $("network").textContent = T.network.replace("{iic}", fmt(net.IIC, 6)).replace("{pc}", fmt(net.PC, 6))
      .replace("{d}", fmt(net.dispersal, 0)).replace("{attr}", net.area_attribute);
    const ct = document.querySelector("#cores tbody"); ct.replaceChildren();
    net.cores.forEach(function (c) {
      ct.appendChild(el("tr", {}, [el("td", { text: c.name }), el("td", { text: fmt(c.current_flow_centrality, 3) }),
        el("td", { text: fmt(c.dIIC, 1) }), el("td", { text: fmt(c.dPC, 1) })]));
    });
    const dl = $("downloads"); dl.replaceChildren();
    Object.entries(res.downloads).forEach(function ([name, url]) { dl.appendChild(el("li", {}, [el("a", { href: url, text: name })])); });
    $("results").hidden = false;
  }

  // ------------------------------------------------------------------ init
  async function loadOptions(layer) {
    const url = API.options + (layer ? "?layer=" + encodeURIComponent(layer) : "");
    state.options = await GeoSIG.fetchJSON(url);
    const sel = $("core-layer");
    if (!sel.options.length) {
      state.options.core_layers.forEach(function (l) { sel.appendChild(el("option", { value: l.slug, text: l.title })); });
    }
    sel.value = state.options.layer;
    const meta = state.options.core_layers.find(function (l) { return l.slug === state.options.layer; });
    state.geometryType = meta ? meta.geometry_type : "point";
    $("core-help").textContent = state.geometryType === "point" ? T.pointHelp : T.polygonHelp;
    state.selected = new Set();  // nothing ticked: «Sugeridos» ticks the large public areas, «Todos» every one listed
    renderCores();
    if (!document.querySelector("#res-table tbody tr")) resetRecipe();
    const pts = state.options.cores.filter(function (c) { return c.in_dem; }).map(function (c) { return [c.lat, c.lon]; });
    if (pts.length) map.fitBounds(L.latLngBounds(pts), { padding: [20, 20] });
  }
  $("core-layer").addEventListener("change", function () { loadOptions($("core-layer").value).catch(function (e) { showError(e.message); }); });
  $("core-filter").addEventListener("input", renderCores);
  function pick(which) {
    if (which === "none") state.selected.clear();
    else state.options.cores.forEach(function (c) {
      if (c.in_dem && (which === "all" ? matches(c) : c.default)) state.selected.add(c.fid);
    });
    renderCores();
  }
  $("cores-all").addEventListener("click", function () { pick("all"); });
  $("cores-none").addEventListener("click", function () { pick("none"); });
  $("cores-suggested").addEventListener("click", function () { pick("suggested"); });
  $("draw").addEventListener("click", function () {
    new L.Draw.Polygon(map, { shapeOptions: { color: "#1b7837", weight: 2 } }).enable();
  });
  map.on(L.Draw.Event.CREATED, function (e) { drawn.addLayer(e.layer); renderCores(); });
  $("clear-drawn").addEventListener("click", function () { drawn.clearLayers(); renderCores(); });
  $("res-add").addEventListener("click", function () { addRow({ source: "proximity", weight: 1 }); });
  $("res-reset").addEventListener("click", resetRecipe);
  // ------------------------------------------------------------------ files (checked by the server's safe readers)
  async function upload(input, kind, slot, statusId, clearId) {
    const f = input.files[0];
    if (!f) return;
    showError("");
    $(statusId).textContent = T.uploading.replace("{name}", f.name);
    const body = new FormData();
    body.append("kind", kind);
    body.append("file", f);
    try {
      const ref = await GeoSIG.fetchJSON(API.inputs, { method: "POST", body: body, headers: { "X-CSRFToken": GeoSIG.csrfToken() } });
      state.files[slot] = { file: ref.file, name: ref.name };
      $(statusId).textContent = T.uploaded.replace("{name}", ref.name) + (slot === "cores" ? "" : " " + T.fileResistance);
      $(clearId).hidden = false;
    } catch (err) {
      state.files[slot] = null; input.value = ""; $(statusId).textContent = "";
      showError(err.message + (kind === "resistance" ? " " + T.coverHint : ""));
    }
  }
  function clearFiles(slots, inputs, statusId, clearId) {
    slots.forEach(function (k) { state.files[k] = null; });
    inputs.forEach(function (id) { $(id).value = ""; });
    $(statusId).textContent = ""; $(clearId).hidden = true;
  }
  $("cores-file").addEventListener("change", function () { upload($("cores-file"), "cores", "cores", "cores-file-status", "cores-file-clear"); });
  $("cores-file-clear").addEventListener("click", function () { clearFiles(["cores"], ["cores-file"], "cores-file-status", "cores-file-clear"); });
  $("res-file").addEventListener("change", function () {
    upload($("res-file"), $("res-table-file").files.length ? "landcover" : "resistance", "raster", "res-file-status", "res-file-clear");
  });
  $("res-table-file").addEventListener("change", async function () {
    await upload($("res-table-file"), "table", "table", "res-file-status", "res-file-clear");
    // the raster is a land cover, not a resistance: checked again as classes (0 may be a class)
    if (state.files.table && $("res-file").files.length) await upload($("res-file"), "landcover", "raster", "res-file-status", "res-file-clear");
  });
  $("res-file-clear").addEventListener("click", function () {
    clearFiles(["raster", "table"], ["res-file", "res-table-file"], "res-file-status", "res-file-clear");
  });
  $("run").addEventListener("click", start);
  $("cancel").addEventListener("click", cancel);
  loadOptions(null).catch(function (e) { showError(e.message); });
  // ------------------------------------------------------------------ Circuitscape between the chosen cores
  // The same cores, resistance, cell and circuit options as the corridor run, sent to Circuitscape's raster
  // scenarios (/api/v1/corridors/circuitscape/): each core is a focal region; outputs keep Circuitscape's names.
  function circuitscapeBody() {
    const p = params();
    const b = { scenario: $("cs-mode").value, cores: p.cores, resistance: p.resistance,
                connect_four_neighbors_only: $("circuit-connectivity").value === "4",
                connect_using_avg_resistances: $("circuit-averaging").value === "resistance",
                write_cur_maps: true, write_volt_maps: $("cs-volt").checked, write_as_tif: true };
    ["cell_size", "point_radius"].forEach(function (k) { if (p[k] !== undefined && p[k] !== null) b[k] = p[k]; });
    return b;
  }
  async function runCircuitscape() {
    showError("");
    if (!state.files.cores && state.selected.size + drawn.getLayers().length < 2) { showError(T.needTwo); return; }
    $("cs-table").hidden = true; $("cs-downloads").replaceChildren();
    try {
      followCircuitscape(await GeoSIG.fetchJSON(API.circuitscape, { method: "POST", body: JSON.stringify(circuitscapeBody()),
        headers: { "Content-Type": "application/json", "X-CSRFToken": GeoSIG.csrfToken() } }));
    } catch (err) { showError(err.message); }
  }
  // polling and states: geosig/jobpage.js (the Circuitscape run is a job: «state», no progress bar here)
  const csPage = { active: ["queued", "running"], stateKey: "state", ids: { status: "cs-status" }, strings: T,
                   setRunning: function (on) { $("cs-run").disabled = on; }, showError: showError,
                   cached: function () { return false; }, done: circuitscapeDone };
  function followCircuitscape(run) { GeoSIG.followRun(run, csPage); }
  function circuitscapeDone(run) {
    const rep = run.report || {};
    const names = rep.regions || {};
    $("cs-status").textContent = T.csDone.replace("{n}", Object.keys(run.downloads).length);
    const rows = rep.resistances || [];
    const body = $("cs-table").querySelector("tbody");
    body.replaceChildren();
    if (rep.scenario === "pairwise") {  // Circuitscape's matrix: ids on the first row and column
      rows.forEach(function (r, i) {
        body.appendChild(el("tr", {}, r.map(function (v, j) {
          return i === 0 || j === 0 ? el("th", { text: i + j === 0 ? "" : (names[String(v)] || String(v)) }) : el("td", { text: fmt(v, 4) });
        })));
      });
    } else {
      body.appendChild(el("tr", {}, [el("th", { text: T.csCore }), el("th", { text: T.csResistance })]));
      rows.forEach(function (r) { body.appendChild(el("tr", {}, [el("td", { text: names[String(r[0])] || String(r[0]) }), el("td", { text: fmt(r[1], 4) })])); });
    }
    $("cs-table").hidden = !rows.length;
    Object.keys(run.downloads).forEach(function (n) {
      $("cs-downloads").appendChild(el("li", {}, [el("a", { href: run.downloads[n], download: n, text: n })]));
    });
  }
  $("cs-run").addEventListener("click", runCircuitscape);
})();
