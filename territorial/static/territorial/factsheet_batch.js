/* Fact sheet page: «every sheet in a ZIP» — POST starts the batch job, the jobs API is polled for its progress,
   the download link appears when it is done. Only rendered for users who may start it. */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("factsheet-batch-config").textContent);
  const $ = (id) => document.getElementById(id);
  const say = (text) => { $("factsheet-batch-status").textContent = text; };
  const fill = (tpl, values) => tpl.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));

  async function poll(job) {
    const bar = $("factsheet-batch-progress");
    for (;;) {
      if (job.state === "done") {
        bar.value = 100;
        say(fill(cfg.strings.done, { n: job.result.sheets }));
        const a = $("factsheet-batch-download");
        a.href = job.urls.download; a.textContent = cfg.strings.download; a.hidden = false;
        $("factsheet-batch-start").disabled = false;
        return;
      }
      if (job.state === "failed" || job.state === "cancelled") {
        say(job.state === "failed" ? fill(cfg.strings.failed, { error: job.error }) : cfg.strings.cancelled);
        $("factsheet-batch-start").disabled = false;
        return;
      }
      bar.hidden = false; bar.value = job.progress;
      say(job.state === "queued" ? cfg.strings.queued
        : fill(cfg.strings.progress, { pct: GeoSIG.fmt(job.progress, 0), message: job.message }));
      await new Promise((r) => setTimeout(r, 2000));
      const download = job.urls.download;
      job = await GeoSIG.fetchJSON(job.urls.self);
      job.urls.download = download;
    }
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
