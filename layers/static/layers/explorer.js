/* "Capas ambientales": toggles, opacity, order, legends, identify on click, overlay by drawing a polygon
 * or picking a municipality/subregion. All data from /api/v1/ (vector tiles .pbf, raster tiles .png). */
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("layers-strings").textContent);
  const map = GeoSIG.createMap("map");
  window.GeoSIGLayersMap = map;  // for the browser tests and the console
  const state = { layers: [], leaflet: {}, order: [], overlayShape: null, drawing: false };
  const listEl = document.getElementById("layer-list");
  const identifyEl = document.getElementById("identify");
  const summaryEl = document.getElementById("summary");
  const shapes = L.featureGroup().addTo(map);

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    // text → textContent; style → an object set through CSSOM (a style="" attribute would need
    // 'unsafe-inline' in the CSP, and a colour string from a layer's style could smuggle in other rules)
    Object.entries(attrs || {}).forEach(function ([k, v]) {
      if (k === "text") e.textContent = v; else if (k === "style") Object.assign(e.style, v); else e.setAttribute(k, v);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }

  function makeLeafletLayer(meta) {
    if (meta.kind === "raster") return L.tileLayer(meta.tiles, { opacity: 0.8, maxZoom: 19, className: "layer-" + meta.slug });
    return new GeoSIGMVT.VectorTileLayer({ url: meta.tiles, layerName: meta.slug, style: meta.style, opacity: 0.9,
                                            className: "layer-" + meta.slug });
  }

  function applyOrder() {
    // first in the list = on top (within its theme group: the list is grouped by theme)
    state.order.forEach(function (slug, i) { state.leaflet[slug].setZIndex(1000 - i); });
    state.order.forEach(function (slug) {
      const r = document.getElementById("row-" + slug);
      r.parentNode.appendChild(r);
    });
  }

  // Search: accent- and case-insensitive ("rio" finds "Ríos"), over title, theme, slug and source.
  function fold(s) { return String(s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }
  function filterList(query) {
    const words = fold(query).split(/\s+/).filter(Boolean);
    let shown = 0;
    state.layers.forEach(function (meta) {
      const hay = fold([meta.title, meta.theme_label, meta.slug, meta.source].join(" "));
      const ok = words.every(function (w) { return hay.includes(w); });
      document.getElementById("row-" + meta.slug).hidden = !ok;
      if (ok) shown += 1;
    });
    listEl.querySelectorAll("details.layer-group").forEach(function (g) {
      const n = g.querySelectorAll(".layer-row:not([hidden])").length;
      g.hidden = n === 0;
      if (words.length && n) g.open = true;
    });
    document.getElementById("layer-none").hidden = shown > 0;
  }

  function groupFor(meta) {
    const id = "group-" + meta.theme;
    let g = document.getElementById(id);
    if (!g) {
      g = el("details", { class: "layer-group", id: id, open: "" }, [
        el("summary", {}, [meta.theme_label + " ", el("span", { class: "muted group-count" })]),
        el("div", { class: "group-body" })]);
      listEl.appendChild(g);
    }
    return g;
  }

  function move(slug, delta) {
    const i = state.order.indexOf(slug), j = i + delta;
    if (j < 0 || j >= state.order.length) return;
    state.order.splice(i, 1); state.order.splice(j, 0, slug);
    applyOrder();
  }

  function legendEl(meta) {
    const box = el("div", { class: "layer-legend" });
    (meta.legend || []).slice(0, 14).forEach(function (it) {
      box.appendChild(el("div", {}, [el("span", { class: "swatch", style: { background: it.color } }), " " + it.label]));
    });
    return box;
  }

  function row(meta) {
    const box = el("input", { type: "checkbox", id: "chk-" + meta.slug, "data-slug": meta.slug });
    const opacity = el("input", { type: "range", min: "0", max: "100", value: meta.kind === "raster" ? "80" : "90",
                                  "aria-label": T.opacity + " " + meta.title, class: "opacity" });
    const up = el("button", { type: "button", title: T.up, "aria-label": T.up + " " + meta.title, text: "▲" });
    const down = el("button", { type: "button", title: T.down, "aria-label": T.down + " " + meta.title, text: "▼" });
    const badges = [];
    // a title that already says «PARCIAL» gets no second badge
    if (meta.is_partial && !/PARCIAL|PARTIAL/.test(meta.title)) badges.push(el("span", { class: "demo-badge", text: T.partial }));
    if (meta.is_derived) badges.push(el("span", { class: "muted", text: " (" + T.derived + ")" }));
    const downloads = el("div", { class: "muted" }, [T.download + ": "]);
    Object.entries(meta.downloads).forEach(function ([fmt, url], i) {
      if (i) downloads.appendChild(document.createTextNode(" · "));
      downloads.appendChild(el("a", { href: url, text: fmt.toUpperCase() }));
    });
    // 'Añadir a QGIS': the layer's service URLs as plain text to copy (read-only fields, no markup)
    const services = el("div", { class: "qgis-box" }, [el("p", { class: "muted", text: T.addToQgis })]);
    Object.entries(meta.services || {}).forEach(function ([name, url]) {
      const field = el("input", { type: "text", readonly: "readonly", value: url, "aria-label": (T.services[name] || name) + " " + meta.title });
      services.appendChild(el("label", { class: "muted" }, [(T.services[name] || name) + " ", field]));
    });
    const details = el("details", {}, [
      el("summary", { text: meta.theme_label + " · " + (meta.kind === "raster" ? "ráster" : meta.feature_count + " " + T.count.toLowerCase()) }),
      el("p", { class: "muted", text: meta.source }),
      meta.caveat ? el("p", { class: "error", text: meta.caveat }) : null,
      meta.derivation_note ? el("p", { class: "muted", text: meta.derivation_note }) : null,
      el("p", { class: "muted", text: (meta.licence || "") + (meta.data_date ? " · " + meta.data_date : "") }),
      downloads,
      services,
    ]);
    const r = el("div", { class: "layer-row", id: "row-" + meta.slug }, [
      el("div", { class: "layer-head" }, [box, el("label", { for: "chk-" + meta.slug }, [meta.title + " ", ...badges])]),
      el("div", { class: "layer-tools" }, [opacity, up, down]),
      legendEl(meta), details,
    ]);
    box.addEventListener("change", function () {
      const lyr = state.leaflet[meta.slug];
      if (box.checked) lyr.addTo(map); else map.removeLayer(lyr);
      r.classList.toggle("on", box.checked);  // tools and legend only for the active layers (CSS)
      applyOrder();
    });
    opacity.addEventListener("input", function () { state.leaflet[meta.slug].setOpacity(opacity.value / 100); });
    up.addEventListener("click", function () { move(meta.slug, -1); });
    down.addEventListener("click", function () { move(meta.slug, 1); });
    return r;
  }

  function visibleSlugs() { return state.order.filter(function (s) { return document.getElementById("chk-" + s).checked; }); }

  async function loadLayers() {
    const body = await GeoSIG.fetchJSON("/api/v1/layers/");
    state.layers = body.layers;
    const wanted = new URLSearchParams(location.search).get("capa");
    state.layers.forEach(function (meta) {
      state.leaflet[meta.slug] = makeLeafletLayer(meta);
      state.order.push(meta.slug);
      groupFor(meta).querySelector(".group-body").appendChild(row(meta));
      if (meta.visible_by_default || meta.slug === wanted) {
        const chk = document.getElementById("chk-" + meta.slug); chk.checked = true; chk.dispatchEvent(new Event("change"));
      }
    });
    // default drawing order: points over lines over polygons over rasters (the API order stays in groups)
    const rank = { point: 0, line: 1, polygon: 2, raster: 3 };
    const geomOf = {}; state.layers.forEach(function (m) { geomOf[m.slug] = rank[m.geometry_type]; });
    state.order.sort(function (a, b) { return geomOf[a] - geomOf[b]; });
    applyOrder();
    listEl.querySelectorAll("details.layer-group").forEach(function (g) {
      g.querySelector(".group-count").textContent = "(" + g.querySelectorAll(".layer-row").length + ")";
    });
    listEl.appendChild(el("p", { class: "muted", id: "layer-none", text: T.noMatch, hidden: "" }));
    const search = document.getElementById("layer-search");
    search.addEventListener("input", function () { filterList(search.value); });
    if (search.value) filterList(search.value);
  }

  // --- identify -------------------------------------------------------------------------------------
  function fmtValue(v) { return typeof v === "number" ? GeoSIG.fmt(v, 2) : (v === null || v === undefined ? "—" : String(v)); }

  async function identify(latlng) {
    const slugs = visibleSlugs();
    identifyEl.replaceChildren(el("h2", { text: T.identifyTitle }));
    if (!slugs.length) { identifyEl.appendChild(el("p", { class: "muted", text: T.noLayers })); return; }
    const url = "/api/v1/identify/?lon=" + latlng.lng.toFixed(6) + "&lat=" + latlng.lat.toFixed(6) +
      "&zoom=" + map.getZoom() + "&layers=" + encodeURIComponent(slugs.join(","));
    try {
      const body = await GeoSIG.fetchJSON(url);
      identifyEl.appendChild(el("p", { class: "muted", text: latlng.lat.toFixed(5) + ", " + latlng.lng.toFixed(5) }));
      body.layers.forEach(function (l) {
        const sec = el("div", { class: "identify-layer", "data-slug": l.slug }, [el("strong", { text: l.title })]);
        if (l.kind === "raster") {
          sec.appendChild(el("p", { class: "value", text: l.value === null ? T.noData : GeoSIG.fmt(l.value, 1) + " " + (l.unit || "") }));
        } else if (!l.features.length) {
          sec.appendChild(el("p", { class: "muted", text: T.noFeatures }));
        } else {
          l.features.forEach(function (f) {
            const t = el("table", { class: "data" });
            Object.entries(f.attributes).slice(0, 12).forEach(function ([k, v]) {
              t.appendChild(el("tr", {}, [el("th", { text: k }), el("td", { text: fmtValue(v) })]));
            });
            sec.appendChild(el("div", { class: "table-scroll" }, [t]));
          });
        }
        identifyEl.appendChild(sec);
      });
    } catch (err) { identifyEl.appendChild(el("p", { class: "error", text: err.message })); }
  }

  map.on("click", function (e) { if (!state.drawing) identify(e.latlng); });

  // --- overlay --------------------------------------------------------------------------------------
  function km2(m2) { return GeoSIG.fmt(m2 / 1e6, 2); }

  function renderSummary(body) {
    const empty = [];
    summaryEl.replaceChildren(el("h2", { text: T.summaryTitle }),
      el("p", {}, [el("strong", { text: body.area.label }), " · " + T.area + ": " + GeoSIG.fmtArea(body.area.area_m2) + " (EPSG:" + body.area.measure_srid + ")"]));
    body.layers.forEach(function (l) {
      const sec = el("div", { class: "summary-layer", "data-slug": l.slug }, [el("h3", { text: l.title })]);
      // the shipped caveats already begin with «PARCIAL:»: the prefix is added only when missing
      const caveat = (l.caveat || "").replace(/^\s*(PARCIAL|PARTIAL)\s*:\s*/i, "");
      if (l.is_partial) sec.appendChild(el("p", { class: "muted", text: T.partial + (caveat ? ": " + caveat : "") }));
      if (l.kind === "raster") {
        const s = l.stats;
        if (s.mean === null) { sec.appendChild(el("p", { class: "muted", text: T.noData })); summaryEl.appendChild(sec); return; }
        sec.appendChild(el("div", { class: "table-scroll" }, [el("table", { class: "data" }, [
          el("tr", {}, [el("th", { text: T.min }), el("th", { text: T.mean }), el("th", { text: T.max }), el("th", { text: T.cells })]),
          el("tr", {}, [el("td", { class: "num", text: GeoSIG.fmt(s.min, 1) }), el("td", { class: "num stat-mean", text: GeoSIG.fmt(s.mean, 1) }),
                        el("td", { class: "num", text: GeoSIG.fmt(s.max, 1) }), el("td", { class: "num", text: GeoSIG.fmt(s.cells, 0) })]),
        ])]));
        const top = Math.max.apply(null, s.histogram.counts) || 1, hist = el("div", { class: "histogram", title: T.histogram });
        s.histogram.counts.forEach(function (c, i) {
          hist.appendChild(el("div", { class: "bar", title: GeoSIG.fmt(s.histogram.edges[i], 0) + "–" + GeoSIG.fmt(s.histogram.edges[i + 1], 0) + ": " + GeoSIG.fmt(c, 0),
                                      style: { height: Math.round(40 * c / top) + "px" } }));
        });
        sec.appendChild(hist);
      } else if (!l.classes.length) {
        // nothing of this layer inside the area: listed once at the end, not one «empty» block per layer
        if (!l.is_partial) { empty.push(l.title); return; }
        sec.appendChild(el("p", { class: "muted", text: T.noFeaturesArea }));
      } else {
        const head = l.measure === "area_m2" ? [T.cls, T.area + " (km²)", T.share] : l.measure === "length_m" ? [T.cls, T.length + " (km)"] : [T.cls, T.count];
        const t = el("table", { class: "data" }, [el("tr", {}, head.map(function (h) { return el("th", { text: h }); }))]);
        l.classes.forEach(function (c) {
          const cells = [el("td", {}, [el("span", { class: "swatch", style: { background: c.color || "#888" } }), " " + c.label])];
          if (l.measure === "area_m2") cells.push(el("td", { class: "num", text: km2(c.area_m2) }), el("td", { class: "num pct", text: GeoSIG.fmtPct(c.pct_of_area, 1) }));
          else if (l.measure === "length_m") cells.push(el("td", { class: "num", text: GeoSIG.fmt(c.length_m / 1000, 2) }));
          else cells.push(el("td", { class: "num", text: String(c.count) }));
          t.appendChild(el("tr", {}, cells));
        });
        sec.appendChild(el("div", { class: "table-scroll" }, [t]));
      }
      summaryEl.appendChild(sec);
    });
    if (empty.length) summaryEl.appendChild(el("p", { class: "muted", id: "summary-empty", text: T.emptyLayers + ": " + empty.join(" · ") }));
  }

  async function runOverlay(payload) {
    const slugs = visibleSlugs();
    if (slugs.length) payload.layers = slugs;
    summaryEl.replaceChildren(el("p", { class: "muted", text: T.loading }));
    try {
      const body = await GeoSIG.fetchJSON("/api/v1/overlay/", {
        method: "POST", body: JSON.stringify(payload),
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": GeoSIG.csrfToken() },
      });
      if (body.area.geometry) {
        shapes.clearLayers();
        const outline = L.geoJSON(body.area.geometry, { style: { color: "#000", weight: 2, fill: false, dashArray: "4 3" } }).addTo(shapes);
        if (payload.area) map.fitBounds(outline.getBounds(), { padding: [20, 20] });  // a picked municipality/subregion
      }
      renderSummary(body);
    } catch (err) { summaryEl.replaceChildren(el("p", { class: "error", text: err.message })); }
  }

  document.getElementById("draw").addEventListener("click", function () {
    state.drawing = true;
    new L.Draw.Polygon(map, { allowIntersection: false, showArea: false, shapeOptions: { color: "#000" } }).enable();
  });
  map.on(L.Draw.Event.CREATED, function (e) {
    // the click closing the polygon reaches the map's click handler after this event: identifying that
    // point would print «Sin elementos en este punto.» under the overlay; «drawing» is cleared afterwards
    setTimeout(function () { state.drawing = false; }, 0);
    shapes.clearLayers(); shapes.addLayer(e.layer);
    runOverlay({ geometry: e.layer.toGeoJSON().geometry });
  });
  map.on(L.Draw.Event.DRAWSTOP, function () { setTimeout(function () { state.drawing = false; }, 0); });

  const kindSel = document.getElementById("area-kind"), codeSel = document.getElementById("area-code");
  let kinds = [];
  async function loadAreas() {
    try { kinds = (await GeoSIG.fetchJSON("/api/v1/overlay/areas/")).kinds; } catch (e) { kinds = []; }
    kinds.forEach(function (k) { kindSel.appendChild(el("option", { value: k.kind, text: k.label })); });
    fillCodes();
  }
  function fillCodes() {
    const k = kinds.find(function (x) { return x.kind === kindSel.value; });
    codeSel.replaceChildren(el("option", { value: "", text: T.pickArea }));
    (k ? k.choices : []).forEach(function (c) { codeSel.appendChild(el("option", { value: c.code, text: c.name })); });
  }
  kindSel.addEventListener("change", fillCodes);
  codeSel.addEventListener("change", function () {
    if (codeSel.value) runOverlay({ area: { kind: kindSel.value, code: codeSel.value } });
  });

  loadLayers().catch(function (err) { listEl.replaceChildren(el("p", { class: "error", text: err.message })); });
  loadAreas();
})();
