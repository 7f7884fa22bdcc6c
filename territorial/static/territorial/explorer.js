/* Map explorer: municipalities by subregion or indicator choropleth, info panel, search. */
(function () {
  "use strict";
  const T = JSON.parse(document.getElementById("explorer-labels").textContent);
  const map = GeoSIG.createMap("map");
  const RAMP = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"];
  let subregions = {};      // code -> {name, color}
  let layer = null;         // GeoJSON layer of municipalities
  let byCode = {};          // divipola -> leaflet layer
  let values = null;        // divipola -> value for the current indicator
  let breaks = [];
  let legendCtl = null;
  let selected = null;

  const $ = (id) => document.getElementById(id);

  function showError(msg) {
    $("info").replaceChildren();
    const p = document.createElement("p"); p.className = "error"; p.textContent = msg;
    $("info").appendChild(p);
  }

  function quantileBreaks(vals, k) {
    const s = vals.filter((v) => v !== null && !Number.isNaN(v)).sort((a, b) => a - b);
    const out = [];
    for (let i = 1; i < k; i++) out.push(s[Math.min(s.length - 1, Math.floor((i * s.length) / k))]);
    return out;
  }
  function classOf(v) {
    let i = 0; while (i < breaks.length && v >= breaks[i]) i++;
    return i;
  }

  function style(feature) {
    const code = feature.properties.divipola;
    const base = { weight: code === selected ? 3 : 1, color: code === selected ? "#000" : "#555", fillOpacity: 0.75 };
    if (values) {
      const v = values[code];
      base.fillColor = v === undefined || v === null ? "#cccccc" : RAMP[classOf(v)];
    } else {
      const s = subregions[feature.properties.subregion_code];
      base.fillColor = s ? s.color : "#999";
    }
    return base;
  }

  function setLegend(title, items) {
    if (legendCtl) map.removeControl(legendCtl);
    legendCtl = GeoSIG.legend(map, title, items);
  }

  function subregionLegend() {
    setLegend(T.subregionsLegend, Object.values(subregions).map((s) => ({ color: s.color, label: s.name })));
  }

  function svgChart(points, width, height) {
    // A small line chart of the population series (no chart library needed for one line).
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`); svg.setAttribute("width", "100%");
    svg.setAttribute("role", "img"); svg.setAttribute("class", "chart");
    if (!points.length) return svg;
    const pad = { l: 58, r: 8, t: 8, b: 20 };
    const xs = points.map((p) => p.year), ys = points.map((p) => p.value);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    const sx = (x) => pad.l + ((x - x0) / Math.max(1, x1 - x0)) * (width - pad.l - pad.r);
    const sy = (y) => height - pad.b - ((y - y0) / Math.max(1, y1 - y0)) * (height - pad.t - pad.b);
    const path = document.createElementNS(ns, "polyline");
    path.setAttribute("points", points.map((p) => `${sx(p.year)},${sy(p.value)}`).join(" "));
    path.setAttribute("fill", "none"); path.setAttribute("stroke", "#0b6e4f"); path.setAttribute("stroke-width", "2");
    svg.appendChild(path);
    for (const p of points) {
      const c = document.createElementNS(ns, "circle");
      c.setAttribute("cx", sx(p.year)); c.setAttribute("cy", sy(p.value)); c.setAttribute("r", 2.5); c.setAttribute("fill", "#0b6e4f");
      const t = document.createElementNS(ns, "title"); t.textContent = `${p.year}: ${GeoSIG.fmt(p.value, 0)}`; c.appendChild(t);
      svg.appendChild(c);
    }
    const label = (x, y, txt, anchor) => {
      const e = document.createElementNS(ns, "text"); e.setAttribute("x", x); e.setAttribute("y", y);
      e.setAttribute("font-size", "10"); e.setAttribute("text-anchor", anchor || "start"); e.textContent = txt; svg.appendChild(e);
    };
    label(pad.l - 4, sy(y1) + 4, GeoSIG.fmt(y1, 0), "end"); label(pad.l - 4, sy(y0) + 4, GeoSIG.fmt(y0, 0), "end");
    label(sx(x0), height - 4, String(x0), "start"); label(sx(x1), height - 4, String(x1), "end");
    return svg;
  }

  function row(dl, k, v) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    dl.appendChild(dt); dl.appendChild(dd);
  }

  async function showInfo(code) {
    selected = code;
    if (layer) layer.setStyle(style);
    try {
      const f = await GeoSIG.fetchJSON(T.api.municipality.replace("00000", encodeURIComponent(code)));
      const p = f.properties;
      const info = $("info"); info.replaceChildren();
      const h = document.createElement("h2"); h.textContent = p.name; h.id = "info-name"; info.appendChild(h);
      const dl = document.createElement("dl"); dl.className = "facts";
      row(dl, T.code, p.divipola);
      row(dl, T.subregion, p.subregion);
      row(dl, T.area, `${GeoSIG.fmt(p.area_km2, 1)} ${T.km2}`);
      row(dl, T.officialArea, `${GeoSIG.fmt(p.official_area_km2, 1)} ${T.km2}`);
      row(dl, T.cabecera, p.cabecera);
      row(dl, `${T.population} ${p.population_year}`, `${GeoSIG.fmt(p.population, 0)} ${T.inhabitants}`);
      const cab = p.indicators.poblacion_cabecera, resto = p.indicators.poblacion_resto;
      if (cab && resto) row(dl, T.urbanRural2018, `${GeoSIG.fmt(cab.values[0].value, 0)} / ${GeoSIG.fmt(resto.values[0].value, 0)}`);
      info.appendChild(dl);
      const series = (p.indicators.poblacion_total || { values: [] }).values;
      const cap = document.createElement("p"); cap.className = "muted"; cap.textContent = T.populationSeries; info.appendChild(cap);
      info.appendChild(svgChart(series, 300, 130));
      const miss = document.createElement("p"); miss.className = "muted"; miss.textContent = T.censusMissing; info.appendChild(miss);
      const sheet = document.createElement("a"); sheet.id = "info-factsheet";
      sheet.href = T.factsheet.replace("00000", encodeURIComponent(p.divipola)); sheet.textContent = T.factsheetLabel;
      const sub = document.createElement("a"); sub.id = "info-factsheet-subregion";
      sub.href = T.factsheetSubregion.replace("xxxxx", encodeURIComponent(p.subregion_code));
      sub.textContent = `${T.factsheetSubregionLabel} ${p.subregion}`;
      const sp = document.createElement("p"); sp.append(sheet, " · ", sub); info.appendChild(sp);
    } catch (e) {
      showError(`${T.notFound}: ${e.message}`);
    }
  }

  async function applyMode() {
    const mode = $("mode").value;
    if (mode === "subregion") {
      values = null; $("year-row").hidden = true; $("indicator-source").textContent = "";
      layer.setStyle(style); subregionLegend(); return;
    }
    const year = $("year-row").hidden || $("year").dataset.mode !== mode ? "" : $("year").value;
    try {
      const data = await GeoSIG.fetchJSON(`${T.api.indicators}?code=${encodeURIComponent(mode)}&year=${encodeURIComponent(year)}`);
      const ysel = $("year");
      if (ysel.dataset.mode !== mode) {
        ysel.replaceChildren();
        for (const y of data.years) { const o = document.createElement("option"); o.value = y; o.textContent = y; ysel.appendChild(o); }
        ysel.dataset.mode = mode;
      }
      ysel.value = data.year;
      $("year-row").hidden = data.years.length < 2;
      values = {}; for (const v of data.values) values[v.divipola] = v.value;
      breaks = quantileBreaks(Object.values(values), RAMP.length);
      const ind = data.indicator;
      // the published department / national values beside the map (never averaged here)
      const refs = (data.references || []).map((r) => `${r.scope === "nacional" ? T.national : T.department} (${r.label}): ${r.published ? GeoSIG.fmt(r.value, 2) : T.notPublished}`);
      $("indicator-source").textContent = `${T.source}: ${ind.source}. ${ind.description || ""}${refs.length ? " " + refs.join(" · ") + "." : ""}`;
      const lims = [Math.min(...Object.values(values)), ...breaks, Math.max(...Object.values(values))];
      const items = RAMP.map((c, i) => ({ color: c, label: `${GeoSIG.fmt(lims[i], 1)} – ${GeoSIG.fmt(lims[i + 1], 1)}` }));
      setLegend(`${ind.name} (${ind.unit}), ${data.year}`, items);
      layer.setStyle(style);
    } catch (e) { showError(`${T.loadError}: ${e.message}`); }
  }

  // Municipality search: an ARIA combobox whose suggestions come from the server's search (accents, case
  // and common names such as «Buga» handled there, in one place). Arrow keys move, Enter picks, Escape closes.
  function initSearch() {
    const input = $("search"), list = $("search-list");
    let hits = [], active = -1, pending = null, seq = 0;
    function close() {
      list.hidden = true; list.replaceChildren(); hits = []; active = -1;
      input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant");
    }
    function highlight(i) {
      active = i;
      list.querySelectorAll("[role=option]").forEach((li, k) => li.setAttribute("aria-selected", String(k === i)));
      if (i >= 0) input.setAttribute("aria-activedescendant", `search-opt-${i}`);
      else input.removeAttribute("aria-activedescendant");
    }
    function choose(hit) {
      if (!hit) return;
      input.value = hit.name; close();
      map.fitBounds(byCode[hit.divipola].getBounds());
      showInfo(hit.divipola);
    }
    function render() {
      list.replaceChildren();
      hits.forEach((h, i) => {
        const li = document.createElement("li");
        li.id = `search-opt-${i}`; li.setAttribute("role", "option"); li.setAttribute("aria-selected", "false");
        li.dataset.divipola = h.divipola;
        li.textContent = h.alias ? `${h.name} (${h.alias})` : h.name;
        li.addEventListener("mousedown", (ev) => { ev.preventDefault(); choose(h); });
        list.appendChild(li);
      });
      list.hidden = !hits.length; input.setAttribute("aria-expanded", String(!!hits.length));
      highlight(hits.length ? 0 : -1);
    }
    async function suggest() {
      const q = input.value.trim(), mine = ++seq;
      if (!q) { close(); return []; }
      try {
        const found = await GeoSIG.fetchJSON(`${T.api.search}?q=${encodeURIComponent(q)}`);
        if (mine === seq) { hits = found; render(); }
      } catch (e) { if (mine === seq) { close(); showError(`${T.notFound}: ${e.message}`); } }
      return hits;
    }
    input.addEventListener("input", () => { clearTimeout(pending); pending = setTimeout(suggest, 150); });
    input.addEventListener("blur", () => setTimeout(close, 0));
    input.addEventListener("keydown", async (ev) => {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        if (list.hidden) { await suggest(); return; }
        const step = ev.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + hits.length) % hits.length);
      } else if (ev.key === "Enter") {
        ev.preventDefault(); pickBest();
      } else if (ev.key === "Escape") { close(); }
    });
    // typed and left the field (or pressed Enter before the suggestions arrived): take the best match
    async function pickBest() {
      clearTimeout(pending);
      if (list.hidden) await suggest();
      if (hits.length) choose(hits[Math.max(active, 0)]);
      else if (input.value.trim()) showError(`${T.notFound}: ${input.value}`);
    }
    input.addEventListener("change", () => { if (input.value.trim()) pickBest(); });
  }

  async function init() {
    try {
      const [subs, munis] = await Promise.all([GeoSIG.fetchJSON(T.api.subregions), GeoSIG.fetchJSON(T.api.municipalities)]);
      for (const f of subs.features) subregions[f.properties.code] = { name: f.properties.name, color: f.properties.color };
      layer = L.geoJSON(munis, {
        style,
        onEachFeature: (f, l) => {
          byCode[f.properties.divipola] = l;
          l.bindTooltip(GeoSIG.text(f.properties.name), { sticky: true });
          l.on("click", () => showInfo(f.properties.divipola));
        },
      }).addTo(map);
      map.fitBounds(layer.getBounds());
      subregionLegend();
      document.body.dataset.ready = "true";
      initSearch();
      $("mode").addEventListener("change", applyMode);
      $("year").addEventListener("change", applyMode);
    } catch (e) { showError(`${T.loadError}: ${e.message}`); }
  }
  init();
})();
