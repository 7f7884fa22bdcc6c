/* POT plan list: "Nuevo plan" posts to the API and opens the new plan's editor (errors: the API's message);
   reviewers get their queue (GET review-queue/, oldest submission first); the full list filters by status
   and municipality in the browser (every visible plan is already on the page). */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const cfg = JSON.parse(($("pot-index-config") || {}).textContent || "{}");
  const S = cfg.strings || {};
  const editorUrl = (id) => cfg.editor.replace(/\/0\/$/, "/" + encodeURIComponent(id) + "/");

  const form = $("new-plan");
  if (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      try {
        const plan = await GeoSIG.fetchJSON(form.action, { method: "POST", headers: { "Content-Type": "application/json",
          "X-CSRFToken": GeoSIG.csrfToken(), Accept: "application/json" },
          body: JSON.stringify({ municipality: form.municipality.value, name: form.elements.name.value }) });
        window.location = editorUrl(plan.id);
      } catch (e) { $("np-error").textContent = e.message; }
    });
  }

  function cell(tr, value, cls) {
    const td = document.createElement("td");
    if (value instanceof Node) td.appendChild(value); else td.textContent = value;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  async function loadQueue() {
    const box = $("review-queue");
    if (!box || !cfg.reviewer) return;
    const status = $("rq-status");
    try {
      const data = await GeoSIG.fetchJSON(cfg.queue);
      const items = Array.isArray(data) ? data : (data.plans || data.results || []);
      const tbody = $("rq-table").querySelector("tbody");
      tbody.replaceChildren();
      items.forEach(function (p) {
        const tr = document.createElement("tr");
        tr.dataset.plan = p.id;
        cell(tr, GeoSIG.fmtDateTime(p.submitted_at));
        cell(tr, p.municipality_name || p.municipality || "");
        const a = document.createElement("a"); a.href = editorUrl(p.id); a.textContent = p.name;
        cell(tr, a);
        cell(tr, p.status_label || p.status || "");
        cell(tr, p.submitted_by || "");
        const n = Number(p.open_gates || 0);
        const td = cell(tr, n ? S.gates.replace("{n}", GeoSIG.fmt(n, 0)) : S.no_gates, n ? "gates-open" : "muted");
        if (p.gates && p.gates.length) td.title = p.gates.join(" · ");
        tbody.appendChild(tr);
      });
      $("rq-table").hidden = !items.length;
      status.textContent = items.length ? "" : S.no_queue;
    } catch (e) { status.textContent = e.message; status.className = "error"; }
  }

  function filterPlans() {
    const st = $("pf-status").value, muni = $("pf-muni").value;
    const rows = Array.from(document.querySelectorAll("#plans tbody tr[data-status]"));
    let shown = 0;
    rows.forEach(function (tr) {
      const ok = (!st || tr.dataset.status === st) && (!muni || tr.dataset.muni === muni);
      tr.hidden = !ok;
      if (ok) shown++;
    });
    $("pf-count").textContent = S.shown.replace("{n}", GeoSIG.fmt(shown, 0)).replace("{total}", GeoSIG.fmt(rows.length, 0));
  }

  if ($("plan-filters")) {
    $("pf-status").addEventListener("change", filterPlans);
    $("pf-muni").addEventListener("change", filterPlans);
    $("plan-filters").addEventListener("submit", (ev) => ev.preventDefault());
    filterPlans();
  }
  loadQueue();
})();
