/* Pickers: show only the years of the chosen population basis; a scenario implies the total basis. */
(function () {
  "use strict";
  const basis = document.getElementById("basis");
  if (!basis) return;
  function sync() {
    ["year", "compare"].forEach(function (id) {
      const sel = document.getElementById(id);
      let firstVisible = null, selectedVisible = false;
      Array.from(sel.options).forEach(function (o) {
        if (!o.dataset.basis) return;
        const show = o.dataset.basis === basis.value;
        o.hidden = !show; o.disabled = !show;
        if (show && !firstVisible) firstVisible = o;
        if (show && o.selected) selectedVisible = true;
      });
      if (id === "year" && !selectedVisible && firstVisible) firstVisible.selected = true;
      if (id === "compare" && !selectedVisible) sel.value = "";
    });
  }
  basis.addEventListener("change", sync);
  document.getElementById("scenario").addEventListener("change", function (e) {
    if (e.target.value) { basis.value = "total"; sync(); document.getElementById("year").disabled = true; }
    else { document.getElementById("year").disabled = false; }
  });
  sync();
  if (document.getElementById("scenario").value) document.getElementById("year").disabled = true;

  // Import role: send a CSV to the API's import (same checks as any client), then show the new report.
  const impForm = document.getElementById("import-form");
  if (impForm) {
    impForm.addEventListener("submit", async function (e) {
      e.preventDefault();
      const err = document.getElementById("imp-error");
      err.textContent = "";
      try {
        await GeoSIG.fetchJSON(document.getElementById("imp-target").value, { method: "POST", body: new FormData(impForm),
          headers: { "X-CSRFToken": GeoSIG.csrfToken(), Accept: "application/json" } });
        window.location.reload();
      } catch (ex) { err.textContent = ex.message; }
    });
  }

  // Scenario editors: create, edit or delete a scenario through the API (the same service and checks as
  // any API client); errors are the API's Spanish message, shown as text.
  const scForm = document.getElementById("scenario-form");
  if (scForm) {
    const url = JSON.parse(document.getElementById("cities-scenarios-api").textContent);
    const stored = JSON.parse(document.getElementById("cities-scenarios").textContent);
    const msgs = JSON.parse(document.getElementById("cities-scenario-messages").textContent);
    const pick = document.getElementById("sc-edit"), name = document.getElementById("sc-name");
    const del = document.getElementById("sc-delete"), err = document.getElementById("sc-error");
    const headers = function () { return { "X-CSRFToken": GeoSIG.csrfToken(), Accept: "application/json" }; };
    pick.addEventListener("change", function () {
      const sc = stored.find(function (s) { return s.name === pick.value; });
      name.value = sc ? sc.name : ""; name.readOnly = Boolean(sc); del.hidden = !sc;
      document.getElementById("sc-kind").value = sc ? sc.kind : "trend";
      document.getElementById("sc-horizon").value = sc ? sc.horizon_year : 2035;
      document.getElementById("sc-adj").value = sc ? sc.adjustments : "";
      document.getElementById("sc-desc").value = sc ? sc.description : "";
      err.textContent = "";
    });
    scForm.addEventListener("submit", async function (e) {
      e.preventDefault();
      err.textContent = "";
      const editing = pick.value;
      try {
        const sc = await GeoSIG.fetchJSON(editing ? url + encodeURIComponent(editing) + "/" : url,
          { method: editing ? "PUT" : "POST", body: new FormData(scForm), headers: headers() });
        window.location.search = "?basis=total&scenario=" + encodeURIComponent(sc.name);
      } catch (ex) { err.textContent = ex.message; }
    });
    del.addEventListener("click", async function () {
      const target = pick.value;
      if (!target || !window.confirm(msgs.confirmDelete.replace("%(name)s", target))) return;
      err.textContent = "";
      try {
        const resp = await fetch(url + encodeURIComponent(target) + "/", { method: "DELETE", headers: headers() });
        if (!resp.ok) { const body = await resp.json().catch(function () { return null; }); throw new Error((body && body.detail) || resp.statusText); }
        window.location.search = "?basis=total";
      } catch (ex) { err.textContent = ex.message; }
    });
  }
})();
