/* GeoSIG Valle shared map shell: every map page uses these helpers (no CDN, works offline). */
(function () {
  "use strict";
  const cfg = () => JSON.parse((document.getElementById("geosig-config") || {}).textContent || "{}");

  // Extensions that add layers to every map (the offline context map registers here): fn(map, config, control).
  const mapHooks = [];
  function onMap(fn) { mapHooks.push(fn); }

  // A Leaflet map of the Valle with a layers control: the extensions' layers (context map) and, when
  // GEOSIG_BASEMAP_URL is configured, the online base map (the only map layer that leaves the site).
  function createMap(elementId, options) {
    const c = cfg();
    const map = L.map(elementId, Object.assign({ zoomSnap: 0.25, preferCanvas: false }, options || {}));
    map.setView([3.95, -76.45], 8);
    const control = L.control.layers(null, null, { collapsed: true, position: "topright" });
    let entries = 0;
    if (c.basemapUrl) {
      const online = L.tileLayer(c.basemapUrl, { attribution: c.basemapAttribution || "", maxZoom: 19 }).addTo(map);
      control.addOverlay(online, c.basemapName || "Mapa base en línea"); entries++;
    }
    mapHooks.forEach(function (fn) { if (fn(map, c, control)) entries++; });
    if (entries) control.addTo(map);
    map.geosigLayersControl = control;
    L.control.scale({ imperial: false }).addTo(map);
    return map;
  }

  // fetch JSON; on an API error throw an Error whose message is the server's Spanish "detail".
  async function fetchJSON(url, init) {
    const resp = await fetch(url, Object.assign({ headers: { Accept: "application/json" } }, init || {}));
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok) {
      const err = new Error((body && body.detail) || resp.statusText || "Error");
      err.status = resp.status; err.body = body;
      throw err;
    }
    return body;
  }

  function csrfToken() {
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  // A legend control: items = [{color, label}]
  function legend(map, title, items, position) {
    const ctl = L.control({ position: position || "bottomright" });
    ctl.onAdd = function () {
      const div = L.DomUtil.create("div", "legend");
      const h = document.createElement("strong"); h.textContent = title; div.appendChild(h);
      for (const it of items) {
        const row = document.createElement("div");
        const sw = document.createElement("span"); sw.className = "swatch"; sw.style.background = it.color;
        row.appendChild(sw); row.appendChild(document.createTextNode(" " + it.label));
        div.appendChild(row);
      }
      return div;
    };
    ctl.addTo(map);
    return ctl;
  }

  // Text stays text: user strings (zone, plan, layer, core names…) reach the DOM only as text nodes.
  // Leaflet's bindTooltip/bindPopup render a STRING as HTML, so give them text() or tip(fn) instead.
  function text(value) {
    return document.createTextNode(value === null || value === undefined ? "" : String(value));
  }
  // For bindTooltip/bindPopup: fn(layer) returns a string (or lines as an array), shown as plain text.
  function tip(fn) {
    return function (layer) {
      const v = fn(layer);
      if (!Array.isArray(v)) return text(v);
      const span = document.createElement("span");
      v.forEach(function (line, i) { if (i) span.appendChild(document.createElement("br")); span.appendChild(text(line)); });
      return span;
    };
  }

  // <select data-autosubmit> (the language picker) submits its form: no inline onchange handlers.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });

  // The header menu on narrow screens: a real button (aria-expanded/aria-controls) opens and closes it;
  // Escape closes it and gives focus back to the button. Wide screens show the menu and hide the button (CSS).
  document.querySelectorAll(".menu-toggle[aria-controls]").forEach(function (btn) {
    const menu = document.getElementById(btn.getAttribute("aria-controls"));
    if (!menu) return;
    function set(open) { btn.setAttribute("aria-expanded", String(open)); menu.classList.toggle("open", open); }
    btn.addEventListener("click", function () { set(btn.getAttribute("aria-expanded") !== "true"); });
    document.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && btn.getAttribute("aria-expanded") === "true") { set(false); btn.focus(); }
    });
  });

  // One number style for the whole site: es-CO (1.234,5) in Spanish, en-US (1,234.5) in English — the same
  // conventions as the server's geosig/numbers.py and Django's localisation.
  function locale() { return (document.documentElement.lang || "es").startsWith("es") ? "es-CO" : "en-US"; }
  function fmt(n, digits) {
    if (n === null || n === undefined || n === "" || Number.isNaN(Number(n))) return "—";
    const d = digits === undefined ? 1 : digits;
    return Number(n).toLocaleString(locale(), { maximumFractionDigits: d });
  }
  // A percentage given in percent units (25.6 → "25,6 %"); a no-break space as in Spanish typography.
  function fmtPct(p, digits) {
    const s = fmt(p, digits === undefined ? 1 : digits);
    return s === "—" ? s : s + "\u00a0%";
  }
  // An area given in m², in the unit a reader grasps: below 1 ha in m² (whole numbers), below 100 km²
  // (10.000 ha, a farm to a small municipality) in ha, above in km² — one decimal. Same thresholds as
  // geosig.numbers.area_label on the server.
  const HA = 10000, KM2_FROM = 100 * 1e6;
  function fmtArea(m2, digits) {
    if (m2 === null || m2 === undefined || m2 === "" || Number.isNaN(Number(m2))) return "—";
    const v = Number(m2), a = Math.abs(v);
    const d = digits === undefined ? 1 : digits;
    if (a < HA) return fmt(v, 0) + "\u00a0m²";
    if (a < KM2_FROM) return fmt(v / HA, d) + "\u00a0ha";
    return fmt(v / 1e6, d) + "\u00a0km²";
  }
  // A date-time in Bogotá time whatever the browser's zone (the server stores UTC).
  function fmtDateTime(iso) {
    if (!iso) return "—";
    const t = new Date(iso);
    if (Number.isNaN(t.getTime())) return String(iso);
    return t.toLocaleString(locale(), { timeZone: "America/Bogota", year: "numeric", month: "2-digit", day: "2-digit",
                                        hour: "2-digit", minute: "2-digit", hour12: false });
  }

  window.GeoSIG = { createMap, onMap, fetchJSON, csrfToken, legend, fmt, fmtPct, fmtArea, fmtDateTime, text, tip, config: cfg };
})();
