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

  // Staff: create a scenario through the API, then show it (errors are the API's Spanish message).
  const scForm = document.getElementById("scenario-form");
  if (scForm) {
    scForm.addEventListener("submit", async function (e) {
      e.preventDefault();
      const body = new FormData(scForm);
      const err = document.getElementById("sc-error");
      err.textContent = "";
      try {
        const url = JSON.parse(document.getElementById("cities-scenarios-api").textContent);
        const sc = await GeoSIG.fetchJSON(url, { method: "POST", body: body, headers: { "X-CSRFToken": GeoSIG.csrfToken(), Accept: "application/json" } });
        window.location.search = "?basis=total&scenario=" + encodeURIComponent(sc.name);
      } catch (ex) { err.textContent = ex.message; }
    });
  }
})();
