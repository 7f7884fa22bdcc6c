/* The standalone portfolio map (plan/services/exports.py inlines it with Leaflet): projects coloured by
   status; names reach the map as text nodes, never HTML. Works offline: no tiles, only the data. */
(function () {
  "use strict";
  const el = document.getElementById("plan-map-data");
  if (!el || !window.L) return;
  const data = JSON.parse(el.textContent);
  const COLORS = { formulado: "#6a51a3", viabilizado: "#2171b5", en_ejecucion: "#238b45", terminado: "#525252",
                   suspendido: "#cb181d" };
  const map = L.map("plan-map").setView([3.95, -76.45], 8);
  function tip(p) {
    const span = document.createElement("span");
    [(p.is_demo ? "DEMO · " : "") + p.code + " " + p.name, p.status_label + " · " + p.progress + " % · " +
      p.semaphore_label, p.entity].forEach(function (line, i) {
      if (i) span.appendChild(document.createElement("br"));
      span.appendChild(document.createTextNode(line));
    });
    return span;
  }
  const layer = L.geoJSON(data, {
    style: function (f) { return { color: COLORS[f.properties.status] || "#333", weight: 3, fillOpacity: 0.3 }; },
    pointToLayer: function (f, ll) {
      return L.circleMarker(ll, { radius: 7, color: "#fff", weight: 1, fillColor: COLORS[f.properties.status] || "#333",
                                  fillOpacity: 0.9 });
    },
    onEachFeature: function (f, l) { l.bindTooltip(function () { return tip(f.properties); }); },
  }).addTo(map);
  if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { maxZoom: 11 });
})();
