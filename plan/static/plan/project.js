/* A project's page: its geometry, facts, timeline of progress reports with evidence, goals, budget, history,
   and the report form for its entity or the planning office. Text reaches the DOM as text. */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("plan-config").textContent);
  const S = cfg.strings;
  const map = GeoSIG.createMap("project-map");

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function link(href, text) { const a = el("a", null, text); a.href = href; a.rel = "noopener noreferrer"; return a; }

  let shape = null;
  function draw(d) {
    const p = d.properties;
    if (shape) map.removeLayer(shape);
    if (d.geometry) {
      shape = L.geoJSON(d.geometry, { pointToLayer: function (f, ll) { return L.circleMarker(ll, { radius: 9 }); } }).addTo(map);
      map.fitBounds(shape.getBounds(), { maxZoom: 13, padding: [20, 20] });
    }
    const facts = document.getElementById("facts");
    facts.replaceChildren();
    [[S.program, p.program.name], [S.line, p.line.name], [S.dimension, p.dimension ? p.dimension.name : "—"],
     [S.entity, p.entity.name], [S.status, p.status_label + " · " + p.term_label],
     [S.dates, (p.start_date || "—") + " → " + (p.end_date || "—")],
     [S.progress, GeoSIG.fmtPct(p.progress) + " (" + S.expected + " " + GeoSIG.fmtPct(p.expected_pct) + ")"],
     [S.semaphore, S.states[p.semaphore]],
     [S.budget, GeoSIG.fmt(p.budget_total_cop, 0)],
     [S.places, p.municipalities.map(function (m) { return m.name; }).join(", ") + " · " +
       p.subregions.map(function (s) { return s.name; }).join(", ")]].forEach(function (f) {
      facts.appendChild(el("dt", null, f[0])); facts.appendChild(el("dd", null, f[1]));
    });
    const tl = document.getElementById("timeline");
    tl.replaceChildren();
    d.reports.forEach(function (r) {
      const li = el("li");
      li.appendChild(el("strong", null, r.date + " · " + GeoSIG.fmtPct(r.value)));
      if (r.note) li.appendChild(document.createTextNode(" — " + r.note));
      if (r.evidence_url && /^https?:\/\//i.test(r.evidence_url)) { li.appendChild(document.createTextNode(" ")); li.appendChild(link(r.evidence_url, "🔗")); }
      if (r.evidence_file) { li.appendChild(document.createTextNode(" ")); li.appendChild(link(r.evidence_file, "📎")); }
      tl.appendChild(li);
    });
    if (!d.reports.length) tl.appendChild(el("li", "muted", S.noData));
    const goals = document.getElementById("goals");
    goals.replaceChildren();
    d.goals.forEach(function (g) {
      const row = el("p");
      row.appendChild(el("span", "sem sem-" + g.semaphore, S.states[g.semaphore]));
      row.appendChild(document.createTextNode(" " + g.name + " — " + g.indicator + ": " + S.target + " " +
        GeoSIG.fmt(g.target.value, 2) + " " + g.unit + " (" + g.target.year + ")"));
      goals.appendChild(row);
      if (d.can_report) goals.appendChild(goalForm(g));
    });
    if (!d.goals.length) goals.appendChild(el("p", "muted", S.noData));
    const body = document.querySelector("#budgets tbody");
    body.replaceChildren();
    p.budgets.forEach(function (b) {
      const tr = el("tr");
      tr.appendChild(el("td", null, b.year)); tr.appendChild(el("td", null, b.funding_source));
      tr.appendChild(el("td", "num", GeoSIG.fmt(b.amount_cop, 0)));
      body.appendChild(tr);
    });
    const hist = document.getElementById("history");
    hist.replaceChildren();
    d.history.forEach(function (h) {
      hist.appendChild(el("li", null, "v" + h.number + " · " + h.action + " · " + GeoSIG.fmtDateTime(h.created_at) +
        (h.author ? " · " + h.author : "")));
    });
    document.body.dataset.planReady = "1";
  }

  // The responsible entity (or the office) reports a goal's value here: value and date, JSON to the API.
  function goalForm(g) {
    const f = el("form", "goal-form");
    const id = "g-value-" + g.id;
    const label = el("label", null, S.goalValue + " (" + g.unit + ")");
    label.htmlFor = id;
    const value = el("input"); value.type = "number"; value.step = "any"; value.required = true; value.id = id;
    const date = el("input"); date.type = "date"; date.setAttribute("aria-label", S.dates);
    const btn = el("button", null, S.goalSave); btn.type = "submit";
    const msg = el("p", "muted"); msg.setAttribute("role", "status");
    [label, value, date, btn, msg].forEach(function (n) { f.appendChild(n); });
    f.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const body = { value: Number(value.value) };
      if (date.value) body.date = date.value;
      try {
        await GeoSIG.fetchJSON(cfg.api.goalReports.replace("/0/", "/" + g.id + "/"), { method: "POST",
          body: JSON.stringify(body), headers: { "Content-Type": "application/json", Accept: "application/json",
                                                 "X-CSRFToken": GeoSIG.csrfToken() } });
        draw(await GeoSIG.fetchJSON(cfg.api.project));
      } catch (e) { msg.textContent = e.message; msg.className = "error"; }
    });
    return f;
  }

  const form = document.getElementById("report-form");
  if (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const msg = document.getElementById("report-msg");
      const data = new FormData(form);
      if (!data.get("evidence") || !data.get("evidence").size) data.delete("evidence");
      ["date", "note", "evidence_url"].forEach(function (k) { if (!data.get(k)) data.delete(k); });
      try {
        await GeoSIG.fetchJSON(cfg.api.reports, { method: "POST", body: data, headers: { "X-CSRFToken": GeoSIG.csrfToken(), Accept: "application/json" } });
        msg.textContent = S.reportOk;
        form.reset();
        draw(await GeoSIG.fetchJSON(cfg.api.project));
      } catch (e) { msg.textContent = e.message; msg.className = "error"; }
    });
  }
  GeoSIG.fetchJSON(cfg.api.project).then(draw).catch(function (e) {
    document.getElementById("facts").textContent = e.message;
  });
})();
