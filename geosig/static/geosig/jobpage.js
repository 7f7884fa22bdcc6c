/* Pages that start a background job and follow it (corridors, connectivity, Circuitscape): build DOM from data as text, and
 * poll a run until it ends. Loaded after shell.js, before the page's own script; adds GeoSIG.el, GeoSIG.followRun and
 * GeoSIG.waitJob (the fact sheet batch and the department's POT conflicts follow a job with it). */
(function () {
  "use strict";

  // el("td", { class: "x", text: "…" }, [child, "text"]): attributes as attributes, strings as text nodes — server
  // and user strings never reach innerHTML.
  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function ([k, v]) { if (k === "text") e.textContent = v; else e.setAttribute(k, v); });
    (children || []).forEach(function (c) { if (c !== null && c !== undefined) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }

  // A run's progress in #bar and #status, polled from run.urls.self every 700 ms while its status is one of
  // page.active; then page.done(run), or the cancelled / failed state with the run's error. page = { active: [states],
  // strings: { running, done, cancelled, failed }, setRunning(on), showError(msg), done(run),
  // cached(run) → true when #status already says the result was reused, update(run) (optional, first, each poll),
  // ids: { bar, status } (optional: another page's elements; a page without a bar names none),
  // stateKey (optional: "state" for a job's answer, which names it so; a run's is "status") }.
  function followRun(run, page) {
    const $ = function (id) { return document.getElementById(id); };
    const ids = page.ids || { bar: "bar", status: "status" };
    const state = run[page.stateKey || "status"];
    if (page.update) page.update(run);
    if (ids.bar) $(ids.bar).value = run.progress;
    if (page.active.indexOf(state) >= 0) {
      page.setRunning(true);
      $(ids.status).textContent = page.strings.running + " (" + run.progress + " %): " + (run.message || "");
      page.timer = setTimeout(async function () {
        try { followRun(await GeoSIG.fetchJSON(run.urls.self), page); } catch (err) { page.showError(err.message); page.setRunning(false); }
      }, 700);
      return;
    }
    page.setRunning(false);
    if (state === "done") { if (!page.cached(run)) $(ids.status).textContent = page.strings.done; page.done(run); }
    else if (state === "cancelled") { $(ids.status).textContent = page.strings.cancelled; }
    else { $(ids.status).textContent = page.strings.failed; page.showError(run.error); }
  }

  // A job of the jobs API (its answer names the state «state»; /api/v1/jobs/<id>/ carries no page ids) polled every
  // 2 s until it ends: onStep(job) after each answer while it is queued or running; resolves with the ended job, or
  // with null once stillWanted() is false (the page asked for something else meanwhile).
  async function waitJob(job, onStep, stillWanted) {
    for (;;) {
      if (stillWanted && !stillWanted()) return null;
      if (job.state !== "queued" && job.state !== "running") return job;
      onStep(job);
      await new Promise(function (resolve) { setTimeout(resolve, 2000); });
      job = await GeoSIG.fetchJSON(job.urls.self);
    }
  }

  window.GeoSIG.el = el;
  window.GeoSIG.followRun = followRun;
  window.GeoSIG.waitJob = waitJob;
})();
