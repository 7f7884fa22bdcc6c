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
})();
