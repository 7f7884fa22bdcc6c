/* POT zoning editor: Leaflet + leaflet-geoman (free edition, from npm via static files).
   The server validates every save; this page only draws, keeps an undo stack and shows answers. */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("pot-config").textContent);
  const S = cfg.strings;
  const classes = Object.fromEntries(cfg.classes.map((c) => [c.code, c]));
  const $ = (id) => document.getElementById(id);
  const map = GeoSIG.createMap("map");
  const zonesLayer = L.featureGroup().addTo(map);
  const commentsLayer = L.featureGroup().addTo(map);
  let plan = null;
  let undo = [];
  let dirty = false;
  let selected = [];
  let mode = null; // "split" | "comment" | null
  let pendingPoint = null;

  function msg(text, kind) {
    const el = $("message");
    el.textContent = text || "";
    el.className = kind || "";
  }

  async function api(url, method, body) {
    const init = { method: method || "GET", headers: { Accept: "application/json", "X-CSRFToken": GeoSIG.csrfToken() } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
    return GeoSIG.fetchJSON(url, init);
  }

  function style(feature) {
    const c = classes[feature.properties.soil_class] || { color: "#777" };
    const sel = selected.some((l) => l.feature === feature);
    return { color: sel ? "#000" : "#333", weight: sel ? 3 : 1, fillColor: c.color, fillOpacity: 0.55 };
  }

  function currentFeatures() {
    const out = [];
    zonesLayer.eachLayer(function (layer) {
      const gj = layer.toGeoJSON();
      const f = layer.feature || {};
      out.push({ type: "Feature", id: f.id || null, geometry: gj.geometry,
                 properties: Object.assign({}, f.properties || {}) });
    });
    return out;
  }

  function pushUndo() {
    undo.push(JSON.stringify(currentFeatures()));
    if (undo.length > 50) undo.shift();
  }

  function setDirty(v) {
    dirty = v;
    $("btn-save").textContent = v ? S.save + " •" : S.save;
    if (v) msg(S.dirty);
  }

  function addZoneLayer(feature) {
    const gj = L.geoJSON(feature, { style: style });
    gj.eachLayer(function (layer) {
      layer.feature = feature;
      layer.on("click", function (ev) {
        L.DomEvent.stopPropagation(ev);
        if (mode === "comment") { placeComment(ev.latlng); return; }  // pins go on top of zones too
        selectZone(layer, ev.originalEvent.shiftKey);
      });
      // zone names are typed by planners: a text node, never HTML (bindTooltip renders strings as HTML)
      layer.bindTooltip(GeoSIG.tip(function () {
        const p = layer.feature.properties;
        return (classes[p.soil_class] ? classes[p.soil_class].label : p.soil_class) + (p.name ? " — " + p.name : "");
      }));
      if (!plan.permissions.edit) layer.options.pmIgnore = true;
      zonesLayer.addLayer(layer);
    });
  }

  function renderZones(features) {
    zonesLayer.clearLayers();
    selected = [];
    features.forEach(addZoneLayer);
    showForm();
  }

  function restyle() { zonesLayer.eachLayer((l) => l.setStyle && l.setStyle(style(l.feature))); }

  function selectZone(layer, add) {
    if (mode === "comment") return;
    selected = add ? selected.concat([layer]) : [layer];
    restyle();
    showForm();
  }

  function showForm() {
    const form = $("zone-form");
    if (selected.length !== 1) { form.hidden = true; return; }
    const p = selected[0].feature.properties;
    form.hidden = false;
    $("zf-id").textContent = selected[0].feature.id ? "#" + selected[0].feature.id : "(" + S.new_zone + ")";
    $("zf-class").value = p.soil_class || "";
    $("zf-use").value = p.use_category || "";
    $("zf-name").value = p.name || "";
    $("zf-notes").value = p.notes || "";
    $("zf-area").textContent = p.area_m2 ? S.area + ": " + GeoSIG.fmt(p.area_m2 / 10000, 2) + " ha" : "";
    const ro = !plan.permissions.edit;
    ["zf-class", "zf-use", "zf-name", "zf-notes"].forEach((id) => { $(id).disabled = ro; });
  }

  function bindForm() {
    [["zf-class", "soil_class"], ["zf-use", "use_category"], ["zf-name", "name"], ["zf-notes", "notes"]].forEach(function (pair) {
      $(pair[0]).addEventListener("change", function () {
        if (selected.length !== 1) return;
        pushUndo();
        selected[0].feature.properties[pair[1]] = this.value;
        restyle(); setDirty(true);
      });
    });
  }

  function fillSelects() {
    for (const id of ["zf-class", "new-class"]) {
      const sel = $(id);
      sel.replaceChildren();
      cfg.classes.forEach(function (c) {
        const o = document.createElement("option"); o.value = c.code; o.textContent = c.label + " (" + c.article + ")";
        sel.appendChild(o);
      });
    }
  }

  function renderPlan(p) {
    plan = p;
    $("plan-status").textContent = p.status_label;
    $("plan-version").textContent = p.version;
    renderZones(p.zones.features);
    renderWorkflow();
    renderComments();
    $("edit-tools").hidden = !p.permissions.edit;
    $("import-form").hidden = !p.permissions.edit;
    $("btn-comment").hidden = !p.permissions.review;
    setupGeoman();
    loadVersions();
  }

  let geomanReady = false;
  function setupGeoman() {
    if (!plan.permissions.edit) { if (geomanReady) map.pm.removeControls(); return; }
    if (geomanReady) return;
    geomanReady = true;
    map.pm.addControls({ position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: false,
      drawCircle: false, drawText: false, rotateMode: false });
    map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });
    map.pm.setLang("es");
    map.on("pm:drawstart", function () { pushUndo(); });
    map.on("pm:create", function (e) {
      if (mode === "split") { finishSplit(e.layer); return; }
      const layer = e.layer;
      map.removeLayer(layer);
      const feature = { type: "Feature", id: null, geometry: layer.toGeoJSON().geometry,
        properties: { soil_class: $("new-class").value, use_category: "", name: "", notes: "" } };
      addZoneLayer(feature);
      setDirty(true);
    });
    map.on("pm:globaleditmodetoggled pm:globaldragmodetoggled pm:globalcutmodetoggled pm:globalremovalmodetoggled", function (e) {
      if (e.enabled) pushUndo();
    });
    zonesLayer.on("pm:edit pm:dragend", function () { setDirty(true); });
    map.on("pm:remove", function (e) { zonesLayer.removeLayer(e.layer); setDirty(true); });
    map.on("pm:cut", function (e) {
      // geoman replaces the cut layer: carry the zone's identity and attributes over
      const feature = e.originalLayer.feature;
      zonesLayer.removeLayer(e.originalLayer);
      map.removeLayer(e.layer);
      const newFeature = { type: "Feature", id: feature.id, geometry: e.layer.toGeoJSON().geometry, properties: feature.properties };
      addZoneLayer(newFeature);
      setDirty(true);
    });
  }

  function renderWorkflow() {
    const box = $("workflow");
    box.replaceChildren();
    plan.actions.forEach(function (a) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = a.label; b.dataset.action = a.action;
      b.addEventListener("click", async function () {
        if (dirty) { msg(S.save_first, "error"); return; }
        try {
          renderPlan(await api(cfg.api.transition, "POST", { action: a.action, version: plan.version }));
          msg(a.label + " ✓", "ok");
        } catch (e) { msg(e.message, "error"); }
      });
      box.appendChild(b);
    });
  }

  function renderComments() {
    commentsLayer.clearLayers();
    const list = $("comments");
    list.replaceChildren();
    const roots = plan.comments.filter((c) => !c.parent);
    roots.forEach(function (c, i) {
      const li = document.createElement("li");
      li.className = "comment";
      const who = document.createElement("strong"); who.textContent = "📍" + (i + 1) + " " + (c.author || "");
      const when = document.createElement("span"); when.className = "muted";
      when.textContent = "v" + c.plan_version + " · " + c.created_at.slice(0, 16).replace("T", " ");
      const body = document.createElement("div"); body.className = "text"; body.textContent = c.text;
      const replies = document.createElement("ul"); replies.className = "replies pot-list";
      li.append(who, " ", when, body, replies);
      plan.comments.filter((r) => r.parent === c.id).forEach(function (r) {
        const ri = document.createElement("li");
        ri.textContent = (r.author || "") + ": " + r.text;
        replies.appendChild(ri);
      });
      if (plan.permissions.comment) {
        const inp = document.createElement("input"); inp.type = "text"; inp.placeholder = S.reply;
        inp.setAttribute("aria-label", S.reply);
        const b = document.createElement("button"); b.type = "button"; b.textContent = S.send;
        b.addEventListener("click", async function () {
          try { await api(cfg.api.comments, "POST", { parent: c.id, text: inp.value }); await reload(); }
          catch (e) { msg(e.message, "error"); }
        });
        li.appendChild(inp); li.appendChild(b);
      }
      list.appendChild(li);
      if (c.lon !== null) {
        L.marker([c.lat, c.lon], { pmIgnore: true, title: c.text }).bindPopup(GeoSIG.text(c.text))
          .addTo(commentsLayer);
      }
    });
  }

  const previewLayer = L.featureGroup().addTo(map);
  const overlays = {};
  overlays[S.zones] = zonesLayer;
  overlays[S.comments_layer] = commentsLayer;
  const layersControl = L.control.layers(null, overlays, { collapsed: false }).addTo(map);

  async function loadDeterminants() {
    try {
      const fc = await api(cfg.api.determinants);
      const DCOL = { paramo: "#1b7837", bosque_seco: "#8c510a", amenaza_inundacion: "#2166ac", ronda_hidrica: "#4393c3", pendiente_alta: "#762a83" };
      const layer = L.geoJSON(fc, { pmIgnore: true, snapIgnore: true, interactive: true,
        style: (f) => ({ color: DCOL[f.properties.code] || "#444", weight: 1, fillOpacity: 0.15, dashArray: "3 3" }) })
        .bindTooltip(GeoSIG.tip((l) => l.feature.properties.name));
      layer.eachLayer((l) => { l.options.pmIgnore = true; l.options.snapIgnore = true; });
      layersControl.addOverlay(layer, S.determinants);
    } catch (e) { /* the editor works without the overlay */ }
  }

  async function previewVersion(v) {
    previewLayer.clearLayers();
    const data = await api(cfg.api.versions + v.number + "/");
    L.geoJSON(data.snapshot, { pmIgnore: true, snapIgnore: true, interactive: false,
      style: { color: "#000", weight: 2, dashArray: "6 4", fill: false } }).addTo(previewLayer);
    msg(S.version_preview.replace("{n}", v.number));
  }

  async function loadVersions() {
    const data = await api(cfg.api.versions);
    const list = $("versions");
    list.replaceChildren();
    data.versions.forEach(function (v) {
      const li = document.createElement("li");
      li.textContent = "v" + v.number + " · " + (v.author || S.system) + " · " + v.created_at.slice(0, 16).replace("T", " ") + " — " + v.summary + " ";
      const show = document.createElement("button"); show.type = "button"; show.textContent = S.show;
      show.addEventListener("click", () => previewVersion(v).catch((e) => msg(e.message, "error")));
      li.appendChild(show);
      if (plan.permissions.edit && v.number !== plan.version) {
        const b = document.createElement("button"); b.type = "button"; b.textContent = S.restore;
        b.addEventListener("click", async function () {
          if (!window.confirm(S.restore_confirm.replace("{n}", v.number))) return;
          try {
            const r = await api(cfg.api.versions + v.number + "/restore/", "POST", { version: plan.version });
            afterSave(r);
          } catch (e) { msg(e.message, "error"); }
        });
        li.appendChild(b);
      }
      list.appendChild(li);
    });
  }

  async function loadConflicts() {
    const box = $("conflicts");
    box.textContent = S.loading;
    try {
      const r = await api(cfg.api.conflicts + "?plan=" + plan.id + "&modes=internal");
      box.replaceChildren();
      if (!r.findings.length) { box.textContent = S.no_conflicts; return; }
      const ul = document.createElement("ul"); ul.className = "pot-list";
      r.findings.forEach(function (f) {
        const li = document.createElement("li");
        li.className = "conflict conflict-" + f.verdict;
        li.textContent = f.message;
        ul.appendChild(li);
      });
      box.appendChild(ul);
    } catch (e) { box.textContent = e.message; }
  }

  function afterSave(r) {
    renderPlan(r.plan);
    undo = [];
    setDirty(false);
    const warn = r.result.warnings.map((w) => w.message).join(" ");
    msg(S.saved.replace("{v}", r.result.version) + " " + r.result.summary + (warn ? " ⚠ " + warn : ""), "ok");
    loadConflicts();
  }

  async function save() {
    try {
      const r = await api(cfg.api.zones, "PUT", { type: "FeatureCollection", version: plan.version, features: currentFeatures() });
      afterSave(r);
    } catch (e) { msg(e.message, "error"); }
  }

  function doUndo() {
    if (!undo.length) { msg(S.undo_empty); return; }
    renderZones(JSON.parse(undo.pop()));
    setDirty(true);
  }

  async function merge() {
    if (dirty) { msg(S.save_first, "error"); return; }
    if (selected.length < 2) { msg(S.select_two, "error"); return; }
    try {
      afterSave(await api(cfg.api.merge, "POST", { version: plan.version, zone_ids: selected.map((l) => l.feature.id) }));
    } catch (e) { msg(e.message, "error"); }
  }

  function startSplit() {
    if (dirty) { msg(S.save_first, "error"); return; }
    if (selected.length !== 1) { msg(S.select_zone, "error"); return; }
    mode = "split";
    msg(S.draw_split);
    map.pm.enableDraw("Line", { snappable: true });
  }

  async function finishSplit(line) {
    map.removeLayer(line);
    mode = null;
    try {
      afterSave(await api(cfg.api.split, "POST", { version: plan.version, zone_id: selected[0].feature.id,
        line: line.toGeoJSON().geometry }));
    } catch (e) { msg(e.message, "error"); }
  }

  function startComment() {
    mode = "comment";
    msg(S.click_comment);
    map.getContainer().style.cursor = "crosshair";
  }

  map.on("click", function (e) { if (mode === "comment") placeComment(e.latlng); });

  function placeComment(latlng) {
    pendingPoint = latlng;
    mode = null;
    map.getContainer().style.cursor = "";
    L.marker(latlng, { pmIgnore: true, opacity: 0.6 }).addTo(commentsLayer);
    $("comment-form").hidden = false;
    $("comment-text").focus();
  }

  async function sendComment() {
    if (!pendingPoint) { msg(S.click_comment, "error"); return; }
    try {
      await api(cfg.api.comments, "POST", { text: $("comment-text").value, lon: pendingPoint.lng, lat: pendingPoint.lat });
      $("comment-text").value = ""; $("comment-form").hidden = true; pendingPoint = null;
      await reload();
    } catch (e) { msg(e.message, "error"); }
  }

  async function importFile(ev) {
    ev.preventDefault();
    const fd = new FormData($("import-form"));
    fd.append("version", plan.version);
    try { afterSave(await api(cfg.api.import, "POST", fd)); msg(S.imported, "ok"); }
    catch (e) { msg(e.message, "error"); }
  }

  async function reload() {
    const p = await api(cfg.api.plan);
    renderPlan(p);
    return p;
  }

  fillSelects();
  bindForm();
  $("btn-save").addEventListener("click", save);
  $("btn-undo").addEventListener("click", doUndo);
  $("btn-merge").addEventListener("click", merge);
  $("btn-split").addEventListener("click", startSplit);
  $("btn-comment").addEventListener("click", startComment);
  $("btn-comment-send").addEventListener("click", sendComment);
  $("import-form").addEventListener("submit", importFile);
  window.addEventListener("beforeunload", function (e) { if (dirty) { e.preventDefault(); e.returnValue = ""; } });

  reload().then(function (p) {
    const boundary = L.geoJSON(p.municipality_geom, { pmIgnore: true, snapIgnore: false, interactive: false,
      style: { color: "#111", weight: 2, fill: false, dashArray: "4 3" } }).addTo(map);
    boundary.eachLayer((l) => { l.options.pmIgnore = true; l.options.snapIgnore = false; });
    map.fitBounds(boundary.getBounds());
    boundary.bringToBack();
    loadDeterminants();
    if (p.zones.features.length) loadConflicts();
  }).catch((e) => msg(e.message, "error"));
  window.POTEditor = { map: map, zones: zonesLayer, state: () => plan };
})();
