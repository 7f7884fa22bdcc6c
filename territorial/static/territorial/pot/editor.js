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
  const highlightLayer = L.featureGroup().addTo(map);  // "ver en el mapa": the finding's geometry
  GeoSIG.legend(map, S.legend, cfg.classes.map((c) => ({ color: c.color, label: c.label })), "bottomleft");
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

  function selectedIds() { return selected.map((l) => l.feature.id).filter((id) => id !== null && id !== undefined); }

  function layersWithIds(ids) {
    const want = new Set((ids || []).map(String));
    const out = [];
    zonesLayer.eachLayer((l) => { if (l.feature && l.feature.id !== null && want.has(String(l.feature.id))) out.push(l); });
    return out;
  }

  // after a save the zones are drawn again from the server's answer: keep the same zones selected
  function reselect(ids) {
    selected = layersWithIds(ids);
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
    $("zf-area").textContent = p.area_m2 ? S.area + ": " + GeoSIG.fmtArea(p.area_m2) : "";
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
    renderLinks();
    renderFindings(p.findings || []);
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

  const NEEDS_REASON = new Set(["return", "devolver", "waive"]);
  const ASKS = new Set(["approve", "aprobar", "return", "devolver", "revise", "waive"]);
  const hasAction = (code) => plan.actions.some((a) => a.action === code);

  // only the actions the server lists for this user now (authors never get "approve");
  // a waiver is given per gate, from the findings list
  function renderWorkflow() {
    const box = $("workflow");
    box.replaceChildren();
    plan.actions.filter((a) => a.action !== "waive").forEach(function (a) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = a.label; b.dataset.action = a.action;
      b.addEventListener("click", () => runAction(a, b));
      box.appendChild(b);
    });
  }

  async function runAction(a, trigger) {
    if (dirty) { msg(S.save_first, "error"); return; }
    const needsReason = a.needs_reason !== undefined ? !!a.needs_reason : NEEDS_REASON.has(a.action);
    const question = a.confirm || (ASKS.has(a.action) || needsReason ? S.confirm_default.replace("{label}", a.label) : "");
    let note = "";
    if (question) {
      note = await confirmDialog({ title: a.label, question: question, needsReason: needsReason, ok: a.label, trigger: trigger });
      if (note === null) return;  // cancelled: nothing was sent
    }
    try {
      if (a.action === "revise") {
        const r = await api(cfg.api.revision, "POST", { expected_version: plan.version, version: plan.version });
        window.location.assign(editorUrl(r.id));
        return;
      }
      renderPlan(await api(cfg.api.transition, "POST",
        { action: a.action, expected_version: plan.version, version: plan.version, note: note }));
      msg(S.done.replace("{label}", a.label), "ok");
    } catch (e) { showError(e); }
  }

  function editorUrl(id) { return cfg.editor.replace(/\/0\/$/, "/" + encodeURIComponent(id) + "/"); }
  function planApiUrl(id) { return cfg.api.plan.replace(/\/\d+\/$/, "/" + encodeURIComponent(id) + "/"); }

  // A confirmation in a modal <dialog>: focus goes in (the reason, or Cancel), Escape or Cancel resolve null,
  // confirming resolves the trimmed reason ("" when none is asked); focus returns to the button that opened it.
  function confirmDialog(o) {
    const dlg = $("confirm-dialog"), form = $("cd-form"), reason = $("cd-reason"), err = $("cd-error");
    $("cd-title").textContent = o.title;
    $("cd-question").textContent = o.question;
    $("cd-ok").textContent = o.ok || S.confirm;
    $("cd-reason-box").hidden = !o.needsReason;
    reason.value = ""; reason.removeAttribute("aria-invalid"); err.textContent = "";
    return new Promise(function (resolve) {
      function finish(value) {
        form.removeEventListener("submit", onSubmit);
        dlg.removeEventListener("cancel", onEscape);
        $("cd-cancel").removeEventListener("click", onCancel);
        dlg.close();
        const back = o.trigger && o.trigger.isConnected ? o.trigger : $("message");
        back.focus();
        resolve(value);
      }
      function onSubmit(ev) {
        ev.preventDefault();
        const text = reason.value.trim();
        if (o.needsReason && !text) {
          err.textContent = S.reason_required;
          reason.setAttribute("aria-invalid", "true");
          reason.focus();
          return;
        }
        finish(o.needsReason ? text : "");
      }
      function onEscape(ev) { ev.preventDefault(); finish(null); }
      function onCancel() { finish(null); }
      form.addEventListener("submit", onSubmit);
      dlg.addEventListener("cancel", onEscape);
      $("cd-cancel").addEventListener("click", onCancel);
      dlg.showModal();
      (o.needsReason ? reason : $("cd-cancel")).focus();
    });
  }

  // the plan this one replaced, or the one that replaced it: a link with the other plan's name
  function renderLinks() {
    const box = $("plan-links");
    box.replaceChildren();
    const other = plan.replaced_by || plan.replaces;
    if (!other) { box.hidden = true; return; }
    const template = plan.replaced_by ? S.replaced_by : S.replaces;
    const a = document.createElement("a");
    a.href = editorUrl(other); a.id = plan.replaced_by ? "link-replaced-by" : "link-replaces";
    a.textContent = S.plan_n.replace("{id}", other);
    const [before, after] = template.split("«{name}»");
    box.append(GeoSIG.text(before), "«", a, "»", GeoSIG.text(after || ""));
    box.hidden = false;
    api(planApiUrl(other)).then((o) => { a.textContent = o.name; }).catch(() => { /* keep the number */ });
  }

  // ------------------------------------------------------------ findings (errors, gates, warnings)
  const SEVERITY = { error: 0, gate: 1, warning: 2 };

  function figureText(v, unit) {
    if (unit === "m2") return GeoSIG.fmtArea(v);
    if (unit === "%" || unit === "pct") return GeoSIG.fmtPct(v);
    if (unit === "m") return GeoSIG.fmt(v, 0) + "\u00a0m";
    return GeoSIG.fmt(v, 2) + (unit ? "\u00a0" + unit : "");
  }

  function figuresLine(f) {
    const g = f.figures || {};
    const parts = [];
    if (g.value !== undefined && g.value !== null) parts.push(S.value + " " + figureText(g.value, g.unit));
    if (g.threshold !== undefined && g.threshold !== null) parts.push(S.threshold + " " + figureText(g.threshold, g.unit));
    return parts.join(" · ");
  }

  // before the backend sends findings, a save answered with plain warnings: show them the same way
  function asFindings(list) {
    return (list || []).map((w) => (w.severity ? w : { rule: w.kind, severity: "warning", label: "", message: w.message,
      zone_ids: w.zone_id ? [w.zone_id] : [], geometry: null, figures: {} }));
  }

  function findingItem(f) {
    const li = document.createElement("li");
    const sev = SEVERITY[f.severity] === undefined ? "warning" : f.severity;
    li.className = "finding finding-" + sev + (f.waived ? " finding-waived" : "");
    li.dataset.rule = f.rule || "";
    const head = document.createElement("strong");
    head.textContent = S["sev_" + sev] + (f.label ? ": " + f.label : "") + (f.waived ? " (" + S.waived + ")" : "");
    const body = document.createElement("div");
    body.textContent = f.message || "";
    li.append(head, body);
    const figures = figuresLine(f);
    if (figures) { const fg = document.createElement("div"); fg.className = "figures"; fg.textContent = figures; li.appendChild(fg); }
    if (f.waived && f.waiver) {
      const w = document.createElement("div"); w.className = "muted";
      w.textContent = S.waived_by.replace("{by}", f.waiver.by || "").replace("{reason}", f.waiver.reason || "");
      li.appendChild(w);
    }
    const tools = document.createElement("div"); tools.className = "pot-buttons";
    if (f.geometry || (f.zone_ids && f.zone_ids.length)) {
      const b = document.createElement("button"); b.type = "button"; b.className = "linklike see-on-map";
      b.textContent = S.see_on_map;
      b.addEventListener("click", () => showOnMap(f));
      tools.appendChild(b);
    }
    if (sev === "gate" && !f.waived && plan && hasAction("waive")) {
      const b = document.createElement("button"); b.type = "button"; b.className = "waive"; b.textContent = S.waive;
      b.addEventListener("click", () => waive(f, b));
      tools.appendChild(b);
    }
    if (tools.childNodes.length) li.appendChild(tools);
    return li;
  }

  function renderFindings(findings, clipped, title) {
    const box = $("findings");
    box.replaceChildren();
    highlightLayer.clearLayers();
    const list = asFindings(findings).slice().sort((a, b) => (SEVERITY[a.severity] || 0) - (SEVERITY[b.severity] || 0));
    if (title) { const h = document.createElement("h3"); h.textContent = title; box.appendChild(h); }
    if (list.length) {
      const ul = document.createElement("ul"); ul.className = "pot-list";
      list.forEach((f) => ul.appendChild(findingItem(f)));
      box.appendChild(ul);
    }
    if (clipped && clipped.length) {
      const p = document.createElement("p"); p.className = "pot-clipped"; p.textContent = S.clipped + ":";
      const ul = document.createElement("ul"); ul.className = "pot-list";
      clipped.forEach(function (c) {
        const li = document.createElement("li");
        const zone = c.name ? "«" + c.name + "»" : (c.zone_id ? S.zone + " #" + c.zone_id : S.new_zone + " n.º " + ((c.index || 0) + 1));
        const cut = (c.outside_m2 || 0) + (c.overlap_m2 || 0);
        li.textContent = c.message || S.clipped_zone.replace("{zone}", zone).replace("{area}", GeoSIG.fmtArea(cut));
        if (c.geometry || c.zone_id) {
          const b = document.createElement("button"); b.type = "button"; b.className = "linklike see-on-map";
          b.textContent = S.see_on_map;
          b.addEventListener("click", () => showOnMap({ geometry: c.geometry || null, zone_ids: c.zone_id ? [c.zone_id] : [] }));
          li.append(" ", b);
        }
        ul.appendChild(li);
      });
      box.append(p, ul);
    }
    box.hidden = !box.childNodes.length;
  }

  function showOnMap(f) {
    highlightLayer.clearLayers();
    let bounds = L.latLngBounds([]);
    if (f.geometry) {
      const g = L.geoJSON(f.geometry, { pmIgnore: true, snapIgnore: true, interactive: false,
        style: { color: "#c51b8a", weight: 4, fillColor: "#c51b8a", fillOpacity: 0.3 } });
      g.eachLayer((l) => { l.options.pmIgnore = true; l.options.snapIgnore = true; });
      g.addTo(highlightLayer);
      bounds.extend(g.getBounds());
    }
    const zones = layersWithIds(f.zone_ids);
    if (zones.length) {
      selected = zones; restyle(); showForm();
      zones.forEach((l) => bounds.extend(l.getBounds()));
    }
    // some room round it: the finding is read against its neighbours
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.4), { maxZoom: 16 });
  }

  async function waive(f, trigger) {
    const reason = await confirmDialog({ title: S.waive, question: S.waive_confirm.replace("{label}", f.label || f.rule),
      needsReason: true, ok: S.waive, trigger: trigger });
    if (reason === null) return;
    try {
      await api(cfg.api.waivers, "POST", { rule: f.rule, zone_ids: f.zone_ids || [], reason: reason });
      await reload();
      msg(S.done.replace("{label}", S.waive + " — " + (f.label || f.rule)), "ok");
    } catch (e) { showError(e); }
  }

  // an API error: a refused save names its findings, a refused submit/approve its open gates
  function showError(e) {
    const ctx = (e.body && e.body.context) || {};
    if (ctx.findings && ctx.findings.length) {
      msg(S.not_saved + " " + e.message, "error");
      renderFindings(ctx.findings);
    } else if (ctx.gates && ctx.gates.length) {
      msg(e.message, "error");
      renderFindings(ctx.gates.map((g) => (typeof g === "string" ? { severity: "gate", label: g, message: "" } : g)),
        null, S.gates_open);
    } else {
      msg(e.message, "error");
    }
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
      when.textContent = "v" + c.plan_version + " · " + GeoSIG.fmtDateTime(c.created_at);
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
          try { await api(cfg.api.comments, "POST", { parent: c.id, text: inp.value }); await reload(); msg(S.comment_sent, "ok"); }
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
      li.textContent = "v" + v.number + " · " + (v.author || S.system) + " · " + GeoSIG.fmtDateTime(v.created_at) + " — " + v.summary + " ";
      const show = document.createElement("button"); show.type = "button"; show.textContent = S.show;
      show.addEventListener("click", () => previewVersion(v).catch((e) => msg(e.message, "error")));
      li.appendChild(show);
      if (plan.permissions.edit && v.number !== plan.version) {
        const b = document.createElement("button"); b.type = "button"; b.textContent = S.restore;
        b.addEventListener("click", async function () {
          const ok = await confirmDialog({ title: S.restore, question: S.restore_confirm.replace("{n}", v.number), ok: S.restore, trigger: b });
          if (ok === null) return;
          try {
            const r = await api(cfg.api.versions + v.number + "/restore/", "POST", { version: plan.version });
            afterSave(r, selectedIds());
          } catch (e) { showError(e); }
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

  function afterSave(r, keep) {
    renderPlan(r.plan);
    undo = [];
    setDirty(false);
    reselect(keep || []);
    const res = r.result || {};
    const findings = r.findings || res.findings || asFindings(res.warnings);
    const state = r.state || res.state ||
      (findings.some((f) => f.severity === "gate" && !f.waived) ? "gates" : findings.length ? "warnings" : "clean");
    const v = res.version || r.plan.version;
    // green only for a clean save; gates amber; warnings neutral (each finding is listed below)
    if (r.unchanged || res.unchanged) msg(S.unchanged, "");
    else if (state === "clean") msg(S.saved_clean.replace("{v}", v), "ok");
    else if (state === "gates") msg(S.saved_gates.replace("{v}", v), "warn");
    else msg(S.saved_warnings.replace("{v}", v), "");
    renderFindings(findings, r.clipped || res.clipped || []);
    loadConflicts();
  }

  async function save() {
    const keep = selectedIds();
    try {
      const r = await api(cfg.api.zones, "PUT", { type: "FeatureCollection", version: plan.version, fit: $("fit").checked,
        features: currentFeatures() });
      afterSave(r, keep);
    } catch (e) { showError(e); }
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
    } catch (e) { showError(e); }
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
        line: line.toGeoJSON().geometry }), [selected[0].feature.id]);
    } catch (e) { showError(e); }
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
      msg(S.comment_sent, "ok");  // replaces the "click on the map" hint
    } catch (e) { msg(e.message, "error"); }
  }

  async function importFile(ev) {
    ev.preventDefault();
    const fd = new FormData($("import-form"));
    fd.append("version", plan.version);
    try { afterSave(await api(cfg.api.import, "POST", fd)); }
    catch (e) { showError(e); }
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
  $("cd-reason").addEventListener("input", function () {  // the refusal goes once a reason is typed
    if (this.value.trim()) { $("cd-error").textContent = ""; this.removeAttribute("aria-invalid"); }
  });
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
  window.POTEditor = { map: map, zones: zonesLayer, highlight: highlightLayer, state: () => plan,
    selectedIds: selectedIds, addFeature: function (f) { pushUndo(); addZoneLayer(f); setDirty(true); } };
})();
