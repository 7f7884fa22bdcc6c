/* GeoSIG Valle: the offline context map under every map of the site (registered on GeoSIG.onMap).
 * Relief: hillshade PNG tiles of the DEM (only south of 4°N). Lines: the context vector tile
 * (department and municipal boundaries, Río Cauca, national roads) drawn on canvas in muted greys.
 * Labels: municipal seat names as DOM text (textContent, never HTML) from the tile's points.
 * Everything comes from this site; it sits below the thematic layers (panes 250/390) and the
 * labels above them (pane 590), none of it catches clicks. */
(function () {
  "use strict";
  if (!window.GeoSIG || !window.GeoSIGMVT) return;

  const STYLE = {  // drawn in this order: the department line over municipal ones
    municipios: { color: "#8c8c8c", width: 0.8, dash: [3, 3] },
    vias: { color: "#a3978a", width: 1.4 },
    rio: { color: "#7d96ad", width: 2 },
    departamento: { color: "#5a5a5a", width: 2 },
  };

  function pane(map, name, z) {
    const p = map.getPane(name) || map.createPane(name);
    p.style.zIndex = String(z); p.style.pointerEvents = "none";  // CSSOM, allowed by the CSP
    return p;
  }

  const ContextLines = L.GridLayer.extend({
    options: { url: "", pane: "geosigContext", maxNativeZoom: 16, labels: null },
    initialize: function (options) {
      L.GridLayer.prototype.initialize.call(this, options);
      this._tileLabels = {};
      this.on("tileunload", function (e) { this._dropLabels(e.coords); }, this);
    },
    onAdd: function (map) {
      L.GridLayer.prototype.onAdd.call(this, map);
      map.on("zoomend moveend", this._declutter, this);
    },
    onRemove: function (map) {
      map.off("zoomend moveend", this._declutter, this);
      L.GridLayer.prototype.onRemove.call(this, map);
    },
    _key: function (c) { return c.z + "/" + c.x + "/" + c.y; },
    createTile: function (coords, done) {
      const tile = document.createElement("canvas"), size = this.getTileSize(), self = this;
      tile.width = size.x; tile.height = size.y; tile.className = "geosig-context-tile";
      const url = this.options.url.replace("{z}", coords.z).replace("{x}", coords.x).replace("{y}", coords.y);
      fetch(url).then(function (resp) {
        if (!resp.ok) throw new Error(resp.statusText);
        return resp.arrayBuffer();
      }).then(function (buf) {
        const layers = buf.byteLength ? GeoSIGMVT.decode(buf) : {};
        self._draw(tile.getContext("2d"), layers, size.x);
        self._addLabels(coords, layers.cabeceras, size.x);
        tile.dataset.layers = Object.keys(layers).sort().join(" ");
        done(null, tile);
      }).catch(function (err) { done(err, tile); });
      return tile;
    },
    _draw: function (ctx, layers, px) {
      ctx.lineJoin = "round"; ctx.lineCap = "round";
      Object.keys(STYLE).forEach(function (name) {
        const layer = layers[name], st = STYLE[name];
        if (!layer) return;
        const k = px / layer.extent;
        ctx.strokeStyle = st.color; ctx.lineWidth = st.width; ctx.setLineDash(st.dash || []);
        ctx.beginPath();
        layer.features.forEach(function (f) {
          f.geometry.forEach(function (part) {
            part.forEach(function (pt, i) { if (i) ctx.lineTo(pt[0] * k, pt[1] * k); else ctx.moveTo(pt[0] * k, pt[1] * k); });
          });
        });
        ctx.stroke();
      });
    },
    _addLabels: function (coords, layer, px) {
      const group = this.options.labels;
      if (!layer || !group || !this._map) return;
      const k = px / layer.extent, markers = [];
      layer.features.forEach(function (f) {
        const pt = f.geometry[0] && f.geometry[0][0];
        if (!pt || pt[0] < 0 || pt[1] < 0 || pt[0] >= layer.extent || pt[1] >= layer.extent) return;  // neighbour's
        const at = this._map.unproject(L.point(coords.x * px + pt[0] * k, coords.y * px + pt[1] * k), coords.z);
        const span = document.createElement("span");
        span.textContent = f.properties.nombre || "";  // text, never HTML
        const icon = L.divIcon({ className: "geosig-context-label", html: span, iconSize: null, iconAnchor: [3, 3] });
        markers.push(L.marker(at, { icon: icon, pane: "geosigContextLabels", interactive: false, keyboard: false,
                                    rank: Number(f.properties.poblacion) || 0 }));
      }, this);
      markers.forEach(function (m) { group.addLayer(m); });
      this._tileLabels[this._key(coords)] = markers;
      this._declutter();
    },
    // Where labels would overlap, the seat with more urban population keeps its label (greedy, once per frame).
    // Boxes come from the map's geometry and the label's own size, not from getBoundingClientRect(): during
    // a zoom animation the elements are mid-transition and their on-screen boxes are not where they will end.
    _declutter: function () {
      if (this._frame || !this._map) return;
      this._frame = requestAnimationFrame(() => {
        this._frame = null;
        if (!this._map) return;
        const map = this._map, placed = [];
        const all = [].concat.apply([], Object.values(this._tileLabels));
        all.sort(function (a, b) { return b.options.rank - a.options.rank; });
        all.forEach(function (m) {
          const el = m.getElement();
          if (!el) return;
          const p = map.latLngToContainerPoint(m.getLatLng());
          const r = { left: p.x - 3, top: p.y - 9, right: p.x - 3 + el.offsetWidth, bottom: p.y + 9 };
          const hit = placed.some(function (q) {
            return r.left < q.right + 4 && r.right + 4 > q.left && r.top < q.bottom && r.bottom > q.top;
          });
          el.classList.toggle("geosig-context-hidden", hit);
          if (!hit) placed.push(r);
        });
      });
    },
    _dropLabels: function (coords) {
      const key = this._key(coords), group = this.options.labels;
      (this._tileLabels[key] || []).forEach(function (m) { if (group) group.removeLayer(m); });
      delete this._tileLabels[key];
      this._declutter();  // a pruned tile may have hidden labels of the tiles that replace it
    },
  });

  GeoSIG.onMap(function (map, config, control) {
    const c = config.context;
    if (!c) return false;
    pane(map, "geosigRelief", 250); pane(map, "geosigContext", 390); pane(map, "geosigContextLabels", 590);
    const labels = L.layerGroup();
    const context = L.layerGroup([
      L.tileLayer(c.relief, { pane: "geosigRelief", opacity: 0.45, maxNativeZoom: 12, maxZoom: 22,
                              attribution: c.attribution, className: "geosig-relief" }),
      new ContextLines({ url: c.tiles, labels: labels }),
      labels,
    ]).addTo(map);
    map.geosigContext = context;
    control.addOverlay(context, c.name);
    return true;
  });

  window.GeoSIGContext = { ContextLines: ContextLines };
})();
