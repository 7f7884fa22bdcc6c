/* «Conectividad omnidireccional» (Omniscape): pick an area (named areas or a drawn polygon), the resistance,
 * radius and block size; run as a job with progress and cancel; show the three maps and the classes of
 * normalised current as tiles with legends, the notes and the downloads. Data from /api/v1/connectivity/.
 * Every server string reaches the DOM as text. */
(function () {
  "use strict";
  const API = JSON.parse(document.getElementById("connectivity-api").textContent);
  const T = JSON.parse(document.getElementById("connectivity-strings").textContent);
  const DEM = JSON.parse(document.getElementById("connectivity-dem").textContent);
  const map = GeoSIG.createMap("map");
  window.GeoSIGConnectivityMap = map;
  const $ = function (id) { return document.getElementById(id); };
  const drawn = L.featureGroup().addTo(map);
  const state = { kinds: [], run: null, tiles: null, legendCtl: null, files: { raster: null, table: null } };
  const el = GeoSIG.el;  // geosig/jobpage.js
  function fmt(n, d) { return (n === null || n === undefined) ? "—" : GeoSIG.fmt(n, d); }
  function showError(msg) { const e = $("error"); e.textContent = msg || ""; e.hidden = !msg; }
  function num(id) { const v = $(id).value; return v === "" ? null : Number(v); }

  // ------------------------------------------------------------------ area
  function fillCodes() {
    const kind = state.kinds.find(function (k) { return k.kind === $("area-kind").value; });
    const sel = $("area-codes"); sel.replaceChildren();
    (kind ? kind.choices : []).forEach(function (c, i) {
      const o = el("option", { value: c.code, text: c.name });
      if (kind.choices.length === 1 && i === 0) o.selected = true;
      sel.appendChild(o);
    });
  }
  async function loadAreas() {
    const data = await GeoSIG.fetchJSON(API.areas);
    state.kinds = data.kinds;
    const sel = $("area-kind");
    data.kinds.forEach(function (k) { sel.appendChild(el("option", { value: k.kind, text: k.label })); });
    if (data.kinds.some(function (k) { return k.kind === "municipio"; })) sel.value = "municipio";
    fillCodes();
  }
  function area() {
    if (drawn.getLayers().length) return { geojson: drawn.getLayers()[0].toGeoJSON().geometry };
    const codes = Array.from($("area-codes").selectedOptions).map(function (o) { return o.value; });
    return codes.length ? { kind: $("area-kind").value, codes: codes } : null;
  }
  function resMode() { return document.querySelector("input[name=res-mode]:checked").value; }
  function params() {
    const p = { radius: num("radius"), block_size: num("block") };
    const a = area();
    if (a) p.area = a;
    if (resMode() === "file" && state.files.raster) {
      p.resistance = { raster: state.files.raster };
      if (state.files.table) p.resistance.table = state.files.table;
    } else {
      p.resistance = "derivada";
      p.cell_size = num("cell");
    }
    return p;
  }

  // ------------------------------------------------------------------ run, progress, cancel
  function setRunning(on) { $("run").disabled = on || $("run").dataset.locked === "1"; $("cancel").disabled = !on; }
  async function start() {
    showError("");
    const p = params();
    if (!p.area && typeof p.resistance === "string") { showError(T.needArea); return; }
    $("results").hidden = true; clearMaps();
    try {
      const run = await GeoSIG.fetchJSON(API.runs, { method: "POST", body: JSON.stringify(p),
        headers: { "Content-Type": "application/json", "X-CSRFToken": GeoSIG.csrfToken() } });
      state.run = run;
      if (run.cached && run.status === "done") $("status").textContent = T.cached;
      follow(run);
    } catch (err) { showError(err.message); setRunning(false); }
  }
  // polling and states: geosig/jobpage.js; a poll's answer is merged into the started run (it keeps «cached»)
  const runPage = {
    active: ["queued", "running"], strings: T, setRunning: setRunning, showError: showError,
    update: function (run) { state.run = Object.assign(state.run || {}, run); },
    cached: function () { return state.run.cached; },
    done: function (run) { loadResults(run).catch(function (e) { showError(e.message); }); },
  };
  function follow(run) { GeoSIG.followRun(run, runPage); }
  async function cancel() {
    if (!state.run) return;
    try {
      await GeoSIG.fetchJSON(state.run.urls.cancel, { method: "POST", headers: { "X-CSRFToken": GeoSIG.csrfToken() } });
    } catch (err) { showError(err.message); }
  }

  // ------------------------------------------------------------------ results
  function clearMaps() {
    if (state.tiles) { map.removeLayer(state.tiles); state.tiles = null; }
    if (state.legendCtl) { map.removeControl(state.legendCtl); state.legendCtl = null; }
  }
  function legendItems(key, m) {
    if (m.kind === "classes") {
      return m.legend.map(function (c) {
        return { color: c.color, label: (T.classes[c.label.toLowerCase()] || c.label) + " (" + fmt(c.min, 1) + " – " + (c.max === null ? "∞" : fmt(c.max, 1)) + ")" };
      });
    }
    const digits = key === "normalizada" ? 2 : 3;
    return m.legend.slice().reverse().map(function (s) { return { color: s.color, label: fmt(s.value, digits) }; });
  }
  function showMap(key, res) {
    clearMaps();
    const m = res.maps[key];
    state.tiles = L.tileLayer(m.tiles, { opacity: 0.8, maxZoom: 18, className: "omni-tiles omni-" + key }).addTo(map);
    const items = legendItems(key, m);
    state.legendCtl = GeoSIG.legend(map, T.maps[key] || m.title, items);
    const box = $("legend"); box.replaceChildren(el("strong", { text: T.maps[key] || m.title }));
    items.forEach(function (it) {
      const sw = el("span", { class: "sw" }); sw.style.background = it.color;
      box.appendChild(el("div", { class: "row legend-row" }, [sw, it.label]));
    });
  }
  async function loadResults(run) {
    const res = await GeoSIG.fetchJSON(run.urls.results);
    const rep = res.report;
    const choice = $("map-choice"); choice.replaceChildren();
    // fixed order (the stored report's keys come back sorted by the database): current, potential, normalised, classes
    const keys = ["corriente", "potencial", "normalizada", "clases"].filter(function (k) { return k in res.maps; });
    keys.forEach(function (key, i) {
      const r = el("input", { type: "radio", name: "omni-map", value: key, id: "map-" + key });
      if (i === 0) r.checked = true;
      r.addEventListener("change", function () { showMap(key, res); });
      choice.appendChild(el("label", { for: "map-" + key }, [r, " " + (T.maps[key] || res.maps[key].title)]));
    });
    showMap(keys[0], res);
    const b = rep.grid.bounds_4326;
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [10, 10] });
    const o = rep.omniscape;
    $("summary").textContent = T.summary.replace("{rows}", fmt(rep.grid.rows, 0)).replace("{cols}", fmt(rep.grid.cols, 0))
      .replace("{cell}", fmt(rep.grid.cell_size, 1)).replace("{radius}", fmt(o.radius, 0)).replace("{radius_m}", fmt(o.radius_m, 0))
      .replace("{block}", fmt(o.block_size, 0)).replace("{targets}", fmt(o.targets, 0)).replace("{secs}", fmt(rep.seconds, 1));
    $("flags").textContent = [rep.partial ? T.partial : "", rep.demo ? T.demo : ""].filter(Boolean).join(" ");
    const tb = document.querySelector("#classes tbody"); tb.replaceChildren();
    res.classes.forEach(function (c) {
      const sw = el("span", { class: "sw" }); sw.style.background = c.color;
      tb.appendChild(el("tr", {}, [el("td", {}, [sw, " " + (T.classes[c.key] || c.label)]),
        el("td", { text: fmt(c.min, 1) + " – " + (c.max === null ? "∞" : fmt(c.max, 1)) }),
        el("td", { text: fmt(c.cells, 0) }), el("td", { text: fmt(100 * c.share, 1) })]));
    });
    const notes = $("notes"); notes.replaceChildren();
    res.notes.forEach(function (n) { notes.appendChild(el("li", { text: n })); });
    const dl = $("downloads"); dl.replaceChildren();
    Object.entries(res.downloads).forEach(function ([name, url]) { dl.appendChild(el("li", {}, [el("a", { href: url, text: name })])); });
    $("results").hidden = false;
  }

  // ------------------------------------------------------------------ files (checked by the server's safe readers)
  async function upload(input, kind, slot) {
    const f = input.files[0];
    if (!f) return;
    showError("");
    $("res-file-status").textContent = T.uploading.replace("{name}", f.name);
    const body = new FormData();
    body.append("kind", kind);
    body.append("file", f);
    try {
      const ref = await GeoSIG.fetchJSON(API.inputs, { method: "POST", body: body, headers: { "X-CSRFToken": GeoSIG.csrfToken() } });
      state.files[slot] = { file: ref.file, name: ref.name };
      $("res-file-status").textContent = T.uploaded.replace("{name}", ref.name);
    } catch (err) { state.files[slot] = null; input.value = ""; $("res-file-status").textContent = ""; showError(err.message); }
  }
  document.querySelectorAll("input[name=res-mode]").forEach(function (r) {
    r.addEventListener("change", function () { $("res-file-box").disabled = resMode() !== "file"; });
  });
  $("res-file").addEventListener("change", function () {
    upload($("res-file"), $("res-table-file").files.length ? "landcover" : "resistance", "raster");
  });
  $("res-table-file").addEventListener("change", async function () {
    await upload($("res-table-file"), "table", "table");
    if (state.files.table && $("res-file").files.length) await upload($("res-file"), "landcover", "raster");
  });

  // ------------------------------------------------------------------ finished public runs (anyone may view them)
  async function loadRecent() {
    const data = await GeoSIG.fetchJSON(API.runs);
    const list = $("recent"); list.replaceChildren();
    data.runs.filter(function (r) { return r.status === "done"; }).forEach(function (r) {
      const b = el("button", { type: "button", class: "link recent-run", "data-run": String(r.id),
                               text: "#" + r.id + " " + (r.area_label || T.drawn) + " — " + T.radiusShort.replace("{r}", r.params.radius)
                                     .replace("{b}", r.params.block_size) });
      b.addEventListener("click", function () { showError(""); clearMaps(); state.run = null; follow(r); });
      list.appendChild(el("li", {}, [b]));
    });
    $("recent-box").hidden = !list.children.length;
  }

  // ------------------------------------------------------------------ init
  $("area-kind").addEventListener("change", fillCodes);
  $("draw").addEventListener("click", function () {
    drawn.clearLayers();
    new L.Draw.Polygon(map, { shapeOptions: { color: "#1b7837", weight: 2 } }).enable();
  });
  map.on(L.Draw.Event.CREATED, function (e) { drawn.addLayer(e.layer); $("area-status").textContent = T.drawn; });
  $("clear-drawn").addEventListener("click", function () { drawn.clearLayers(); $("area-status").textContent = ""; });
  $("run").addEventListener("click", start);
  $("cancel").addEventListener("click", cancel);
  if (DEM) L.rectangle([[DEM[1], DEM[0]], [DEM[3], DEM[2]]], { color: "#888", weight: 1, fill: false, dashArray: "4 4",
                                                           interactive: false }).addTo(map);
  loadAreas().catch(function (e) { showError(e.message); });
  loadRecent().catch(function (e) { showError(e.message); });
})();
