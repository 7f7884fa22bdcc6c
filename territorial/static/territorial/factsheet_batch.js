/* Fact sheet page: «every sheet in a ZIP» — POST starts the batch job, the jobs API is polled for its progress,
   the download link appears when it is done. Only rendered for users who may start it. */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("factsheet-batch-config").textContent);
  const $ = (id) => document.getElementById(id);
  const say = (text) => { $("factsheet-batch-status").textContent = text; };
  const fill = (tpl, values) => tpl.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));

  // polling: geosig/jobpage.js (the jobs API's answer has no download link: the start answer's is kept)
  async function poll(job) {
    const bar = $("factsheet-batch-progress");
    const download = job.urls.download;
    job = await GeoSIG.waitJob(job, function (j) {
      bar.hidden = false; bar.value = j.progress;
      say(j.state === "queued" ? cfg.strings.queued
        : fill(cfg.strings.progress, { pct: GeoSIG.fmt(j.progress, 0), message: j.message }));
    });
    if (job.state === "done") {
      bar.value = 100;
      say(fill(cfg.strings.done, { n: job.result.sheets }));
      const a = $("factsheet-batch-download");
      a.href = download; a.textContent = cfg.strings.download; a.hidden = false;
    } else {
      say(job.state === "failed" ? fill(cfg.strings.failed, { error: job.error }) : cfg.strings.cancelled);
    }
    $("factsheet-batch-start").disabled = false;
  }

  $("factsheet-batch-start").addEventListener("click", async function () {
    this.disabled = true;
    $("factsheet-batch-download").hidden = true;
    try {
      const job = await GeoSIG.fetchJSON(cfg.start, { method: "POST", body: "{}",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": GeoSIG.csrfToken() } });
      await poll(job);
    } catch (e) { say(e.message); this.disabled = false; }
  });
})();
