/* GeoSIG Valle: a small Mapbox Vector Tile reader and a Leaflet canvas layer that draws it.
 * Written for this project (spec: github.com/mapbox/vector-tile-spec v2.1), so the map shows the
 * server's ST_AsMVT tiles without a third-party plugin. Styling follows the layer's style JSON. */
(function () {
  "use strict";

  // --- protobuf reading (only the wire types the MVT spec uses) -----------------------------------
  function Reader(buffer) { this.buf = new Uint8Array(buffer); this.view = new DataView(buffer); this.pos = 0; }
  Reader.prototype.varint = function () {
    let result = 0, shift = 0, b;
    do { b = this.buf[this.pos++]; result += (b & 0x7f) * Math.pow(2, shift); shift += 7; } while (b >= 0x80);
    return result;
  };
  Reader.prototype.svarint = function () { const n = this.varint(); return n % 2 === 1 ? (n + 1) / -2 : n / 2; };
  Reader.prototype.string = function () {
    const len = this.varint(), s = new TextDecoder("utf-8").decode(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len; return s;
  };
  Reader.prototype.packed = function () {
    const end = this.varint() + this.pos, out = [];
    while (this.pos < end) out.push(this.varint());
    return out;
  };
  Reader.prototype.skip = function (wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.pos += this.varint();
    else if (wire === 5) this.pos += 4;
    else throw new Error("tipo de campo protobuf desconocido " + wire);
  };
  Reader.prototype.fields = function (end, fn) {
    while (this.pos < end) {
      const tag = this.varint(), field = Math.floor(tag / 8), wire = tag & 7;
      if (!fn(field, wire)) this.skip(wire);
    }
  };

  function readValue(r) {
    const end = r.varint() + r.pos; let v = null;
    r.fields(end, function (f, wire) {
      if (f === 1) { v = r.string(); return true; }
      if (f === 2) { v = r.view.getFloat32(r.pos, true); r.pos += 4; return true; }
      if (f === 3) { v = r.view.getFloat64(r.pos, true); r.pos += 8; return true; }
      if (f === 4 || f === 5) { v = r.varint(); return true; }
      if (f === 6) { v = r.svarint(); return true; }
      if (f === 7) { v = r.varint() === 1; return true; }
      return false;
    });
    return v;
  }

  function readFeature(r) {
    const end = r.varint() + r.pos, feat = { id: null, tags: [], type: 0, geometry: [] };
    r.fields(end, function (f) {
      if (f === 1) { feat.id = r.varint(); return true; }
      if (f === 2) { feat.tags = r.packed(); return true; }
      if (f === 3) { feat.type = r.varint(); return true; }
      if (f === 4) { feat.geometry = r.packed(); return true; }
      return false;
    });
    return feat;
  }

  function readLayer(r) {
    const end = r.varint() + r.pos, layer = { name: "", extent: 4096, keys: [], values: [], raw: [] };
    r.fields(end, function (f) {
      if (f === 1) { layer.name = r.string(); return true; }
      if (f === 2) { layer.raw.push(readFeature(r)); return true; }
      if (f === 3) { layer.keys.push(r.string()); return true; }
      if (f === 4) { layer.values.push(readValue(r)); return true; }
      if (f === 5) { layer.extent = r.varint(); return true; }
      return false;
    });
    layer.features = layer.raw.map(function (ft) {
      const props = {};
      for (let i = 0; i + 1 < ft.tags.length; i += 2) props[layer.keys[ft.tags[i]]] = layer.values[ft.tags[i + 1]];
      return { id: ft.id, type: ft.type, properties: props, geometry: decodeGeometry(ft.geometry) };
    });
    delete layer.raw;
    return layer;
  }

  // Command stream → list of parts (each a list of [x, y] in tile units).
  function decodeGeometry(cmds) {
    const parts = []; let x = 0, y = 0, i = 0, part = null;
    while (i < cmds.length) {
      const c = cmds[i++], id = c & 7, count = c >> 3;
      if (id === 1 || id === 2) {
        for (let k = 0; k < count; k++) {
          const dx = cmds[i++], dy = cmds[i++];
          x += (dx >>> 1) ^ -(dx & 1); y += (dy >>> 1) ^ -(dy & 1);
          if (id === 1) { part = [[x, y]]; parts.push(part); } else part.push([x, y]);
        }
      } else if (id === 7 && part) { part.push([part[0][0], part[0][1]]); }
    }
    return parts;
  }

  function decode(buffer) {
    const r = new Reader(buffer), layers = {};
    r.fields(r.buf.length, function (f) {
      if (f === 3) { const l = readLayer(r); layers[l.name] = l; return true; }
      return false;
    });
    return layers;
  }

  // --- Leaflet layer ------------------------------------------------------------------------------
  function colourFor(style, props) {
    if (style.type === "categorized") {
      const hit = (style.classes || []).find(function (c) { return String(c.value) === String(props["class"]); });
      return hit ? hit.color : (style.default_color || "#888");
    }
    if (style.type === "graduated") {  // the tile's class is the bin label
      const hit = (style.classes || []).find(function (c) { return c.label === props["class"]; });
      return hit ? hit.color : (style.default_color || "#888");
    }
    return style.color || "#555";
  }

  const VectorTileLayer = L.GridLayer.extend({
    options: { url: "", layerName: "", style: {}, maxNativeZoom: 22 },
    createTile: function (coords, done) {
      const tile = document.createElement("canvas"), size = this.getTileSize();
      tile.width = size.x; tile.height = size.y;
      const url = this.options.url.replace("{z}", coords.z).replace("{x}", coords.x).replace("{y}", coords.y);
      const self = this;
      fetch(url).then(function (resp) {
        if (!resp.ok) throw new Error(resp.statusText);
        return resp.arrayBuffer();
      }).then(function (buf) {
        const layers = buf.byteLength ? decode(buf) : {};
        const layer = layers[self.options.layerName];
        if (layer) self._draw(tile.getContext("2d"), layer, size.x / layer.extent);
        tile.dataset.features = layer ? layer.features.length : 0;
        done(null, tile);
      }).catch(function (err) { done(err, tile); });
      return tile;
    },
    _draw: function (ctx, layer, scale) {
      const st = this.options.style;
      ctx.lineJoin = "round"; ctx.lineCap = "round";
      for (const f of layer.features) {
        const colour = colourFor(st, f.properties);
        ctx.strokeStyle = colour; ctx.fillStyle = colour;
        if (f.type === 1) {
          for (const p of f.geometry) for (const pt of p) {
            ctx.beginPath(); ctx.arc(pt[0] * scale, pt[1] * scale, st.radius || 4, 0, 2 * Math.PI);
            ctx.globalAlpha = 0.9; ctx.fill(); ctx.globalAlpha = 1; ctx.lineWidth = 1; ctx.strokeStyle = "#fff"; ctx.stroke();
          }
          continue;
        }
        ctx.beginPath();
        for (const part of f.geometry) {
          part.forEach(function (pt, k) { if (k === 0) ctx.moveTo(pt[0] * scale, pt[1] * scale); else ctx.lineTo(pt[0] * scale, pt[1] * scale); });
        }
        if (f.type === 3) {
          ctx.globalAlpha = st.fill_opacity === undefined ? 0.5 : st.fill_opacity; ctx.fill("evenodd"); ctx.globalAlpha = 1;
          ctx.lineWidth = st.weight || 1; ctx.stroke();
        } else { ctx.lineWidth = st.weight || 2; ctx.stroke(); }
      }
    },
  });

  window.GeoSIGMVT = { decode: decode, VectorTileLayer: VectorTileLayer };
})();
