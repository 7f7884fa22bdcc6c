/* POT plan list: "Nuevo plan" posts to the API and opens the new plan's editor (errors: the API's message). */
(function () {
  "use strict";
  const form = document.getElementById("new-plan");
  if (!form) return;
  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    try {
      const plan = await GeoSIG.fetchJSON(form.action, { method: "POST", headers: { "Content-Type": "application/json",
        "X-CSRFToken": GeoSIG.csrfToken(), Accept: "application/json" },
        body: JSON.stringify({ municipality: form.municipality.value, name: form.elements.name.value }) });
      // data-editor is the editor URL of plan 0: swap in the new id
      window.location = form.dataset.editor.replace(/\/0\/$/, "/" + encodeURIComponent(plan.id) + "/");
    } catch (e) { document.getElementById("np-error").textContent = e.message; }
  });
})();
