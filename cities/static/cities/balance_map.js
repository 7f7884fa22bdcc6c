/* Map of the city system: cabeceras sized by population, centros poblados, network links weighted by
   gravity. Reads its data and labels from <script type="application/json" id="cities-map-data">.
   Works inside the GeoSIG shell (GeoSIG.createMap) and in the self-contained HTML report (plain Leaflet). */
(function () {
  "use strict";
  const el = document.getElementById("cities-map-data");
  if (!el || !document.getElementById("cities-map")) return;
  const data = JSON.parse(el.textContent);
  const t = data.labels || {};
  // Leaflet renders a tooltip STRING as HTML: names and imported units go in as text nodes instead
  // (lines joined by <br> elements). Local helper: the standalone HTML report has no GeoSIG shell.
  const text = (x) => document.createTextNode(x === undefined || x === null ? "" : String(x));
  const lines = function (parts) {
    const span = document.createElement("span");
    parts.forEach(function (line, i) { if (i) span.appendChild(document.createElement("br")); span.appendChild(text(line)); });
    return span;
  };
  const map = window.GeoSIG ? GeoSIG.createMap("cities-map") : L.map("cities-map").setView([3.95, -76.45], 8);
  const fmt = (n, d) => (window.GeoSIG ? GeoSIG.fmt(n, d) : Number(n).toLocaleString("es-CO", { maximumFractionDigits: d === undefined ? 1 : d }));
  const bounds = [];
  (data.outlines || []).forEach(function (rings) {
    rings.forEach(function (ring) {
      const ll = ring.map(function (p) { return [p[1], p[0]]; });
      L.polyline(ll, { color: "#9aa8ad", weight: 0.8, interactive: false }).addTo(map);
      ll.forEach(function (p) { bounds.push(p); });
    });
  });
  const roads = L.layerGroup();
  (data.roads || []).forEach(function (r) {
    L.polyline(r.coords.map(function (p) { return [p[1], p[0]]; }), { color: "#1f78b4", weight: 2, opacity: 0.6 })
      .bindTooltip(text(r.name)).addTo(roads);
  });
  roads.addTo(map);
  const byCode = {};
  data.cities.forEach(function (c) { byCode[c.code] = c; });
  data.links.forEach(function (lk) {
    const a = byCode[lk.a], b = byCode[lk.b];
    if (!a || !b) return;
    L.polyline([[a.lat, a.lon], [b.lat, b.lon]], { color: "#d95f02", opacity: 0.6, weight: 1 + 6 * Math.sqrt(lk.gravity_rel || 0) })
      .bindTooltip(text(a.name + " – " + b.name + ": " + fmt(lk.time_h, 1) + " " + (t.hours || "h"))).addTo(map);
  });
  const places = L.layerGroup();
  (data.places || []).forEach(function (p) {
    L.circleMarker([p.lat, p.lon], { radius: 2.5, color: "#555", weight: 0.5, fillOpacity: 0.7 })
      .bindTooltip(lines([p.name + " (" + p.kind + ") · " + fmt(p.time_to_intermediate_h, 2) + " " + (t.toIntermediate || "")]
        .concat(Object.keys(p.attributes || {}).map(function (k) {
          const a = p.attributes[k]; return k + ": " + fmt(a.value, 0) + " " + (a.unit === undefined || a.unit === null ? "" : a.unit) + " (" + a.year + ")";
        }))))
      .addTo(places);
  });
  places.addTo(map);
  const maxPop = Math.max.apply(null, data.cities.map(function (c) { return c.population; }));
  data.cities.forEach(function (c) {
    L.circleMarker([c.lat, c.lon], { radius: 3 + 22 * Math.sqrt(c.population / maxPop), color: "#fff", weight: 1,
      fillColor: "#0b6e4f", fillOpacity: 0.75 })
      .bindTooltip(text(c.name + ": " + fmt(c.population, 0) + " " + (t.inhabitants || "hab"))).addTo(map);
    bounds.push([c.lat, c.lon]);
  });
  if (bounds.length) map.fitBounds(bounds, { padding: [10, 10] });
  window.GeoSIGCitiesMap = map;  // for the browser tests and the console
  document.body.dataset.citiesMap = "ready"; // for tests and screenshots
  if (window.GeoSIG) {
    GeoSIG.legend(map, t.legendTitle || "", [
      { color: "#0b6e4f", label: t.cities || "" }, { color: "#555", label: t.places || "" },
      { color: "#d95f02", label: t.links || "" }, { color: "#1f78b4", label: t.roads || "" }]);
  }
})();
