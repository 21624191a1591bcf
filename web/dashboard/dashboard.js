/*
 * dtrain dashboard: a read-only, live view of the coordinator's jobs.
 *
 * Plain browser script (ES2020, no modules, no build step). It needs the
 * global `uPlot` from /static/uplot.js, loaded before this file.
 *
 *   /            jobs list, polls GET /api/jobs every 2 s
 *   /jobs/<id>   one job: GET /api/jobs/<id> (snapshot) then
 *                GET /api/jobs/<id>/events (Server-Sent Events); the snapshot
 *                is fetched again on every (re)connect so nothing is missed.
 *
 * Every piece of server data goes into the page through textContent or
 * attributes, never through innerHTML.
 */
/* Browser globals, for the repository's ESLint (which otherwise assumes no environment). */
/* global uPlot, window, document, location, console, URL, fetch, AbortController, EventSource,
   Image, ResizeObserver, performance, requestAnimationFrame, setTimeout, clearTimeout, setInterval */
(function () {
  "use strict";
  /** The most points kept per group and notes shown, as the server keeps (src/observe/job-view.ts). */
  const MAX_POINTS = 4000;
  const MAX_NOTES = 50;

  // ---------------------------------------------------------------- constants

  const STATUSES = new Set(["queued", "running", "succeeded", "failed", "cancelled"]);
  const FINAL = new Set(["succeeded", "failed", "cancelled"]);
  /** Keys of a series point that never get a chart of their own. */
  const NOT_A_FAMILY = new Set([
    "step", "epoch", "iteration", "lr", "samplesPerSecond", "computeMs", "commMs", "spreadMs",
  ]);
  /** train: the training window; validation: data.validation's periodic evaluations; eval: the test split. */
  const GROUPS = ["train", "validation", "eval"];
  const EVENT_TYPES = ["metrics", "workers", "status", "picture", "stragglers", "note"];

  const LIST_POLL_MS = 2000;
  const RETRY_MS = 3000;
  const MISSING_RETRY_MS = 5000;
  const FETCH_TIMEOUT_MS = 8000;
  const REDRAW_MS = 250; // at most ~4 chart redraws per second
  const CHART_HEIGHT = 220;
  const MAX_STRAGGLER_PERIODS = 8;

  const FAMILY_RANK = { loss: 0, losses: 1, accuracy: 2, meanAbsoluteError: 3, throughput: 90, stepTime: 91 };
  const FAMILY_TITLE = {
    losses: "losses (dLoss / gLoss)",
    throughput: "throughput (samples/s)",
    stepTime: "step time (ms)",
  };
  const KEY_RANK = { dLoss: 0, gLoss: 1, computeMs: 0, commMs: 1 };
  const KEY_LABEL = { computeMs: "compute", commMs: "all-reduce" };
  const KEY_COLOR = { computeMs: "#2563eb", commMs: "#10b981", samplesPerSecond: "#0d9488" };
  const GROUP_COLOR = { train: "#2563eb", validation: "#16a34a", eval: "#ea580c" };
  const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#0891b2", "#ca8a04"];

  // ---------------------------------------------------------------- helpers

  const $ = (id) => document.getElementById(id);

  const intFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const oneFmt = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

  function isNum(v) {
    return typeof v === "number" && Number.isFinite(v);
  }
  function fmtInt(v) {
    return isNum(v) ? intFmt.format(v) : "—";
  }
  function fmt1(v) {
    return isNum(v) ? oneFmt.format(v) : "—";
  }
  /** samples/s: "10,951", or one decimal below 100 ("12.5"). */
  function fmtRate(v) {
    if (!isNum(v)) return "—";
    return (Math.abs(v) < 100 ? oneFmt : intFmt).format(v);
  }
  /** A metric value in a legend: 4 significant digits, grouped when large. */
  function fmtVal(v) {
    if (!isNum(v)) return "—";
    if (Math.abs(v) >= 1000) return intFmt.format(v);
    return String(Number(v.toPrecision(4)));
  }
  /** An axis tick: round numbers without float noise. */
  function fmtTick(v) {
    if (!isNum(v)) return "";
    if (Math.abs(v) >= 1000) return intFmt.format(v);
    return String(Number(v.toPrecision(6)));
  }
  function fmtTime(ms) {
    if (!isNum(ms)) return "—";
    const d = new Date(ms);
    const now = new Date();
    if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString();
    return d.toLocaleString();
  }
  function fmtDuration(ms) {
    if (!isNum(ms) || ms < 0) return "";
    const s = Math.floor(ms / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (h > 0) return h + "h " + m + "m";
    if (m > 0) return m + "m " + (s % 60) + "s";
    return s + "s";
  }

  /** Builds an element. props: class, text, or any attribute; children: nodes or strings (as text). */
  function h(tag, props) {
    const el = document.createElement(tag);
    if (props) {
      for (const k of Object.keys(props)) {
        const v = props[k];
        if (v == null || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = String(v);
        else el.setAttribute(k, String(v));
      }
    }
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c != null) el.append(c);
    }
    return el;
  }

  function setText(el, text) {
    const s = text == null ? "" : String(text);
    if (el.textContent !== s) el.textContent = s;
  }

  function setBadge(el, status) {
    const s = typeof status === "string" && status ? status : "unknown";
    setText(el, s);
    el.className = "badge" + (STATUSES.has(s) ? " status-" + s : "");
  }

  function jobHref(id) {
    return "/jobs/" + encodeURIComponent(String(id));
  }

  /** A server-given URL, only if it is http(s) (relative paths are); else null. */
  function safeUrl(u) {
    if (typeof u !== "string" || !u) return null;
    try {
      const abs = new URL(u, location.href);
      if (abs.protocol === "http:" || abs.protocol === "https:") return u;
    } catch {
      // fall through
    }
    return null;
  }

  async function fetchJSON(url) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
    try {
      const res = await fetch(url, { cache: "no-store", signal: ctl.signal, headers: { Accept: "application/json" } });
      if (!res.ok) {
        const err = new Error("HTTP " + res.status + " for " + url);
        err.status = res.status;
        throw err;
      }
      return await res.json();
    } finally {
      clearTimeout(timer);
    }
  }

  // Connection indicator: shown while any named problem is active.
  const problems = new Set();
  function setProblem(key, on) {
    if (on) problems.add(key);
    else problems.delete(key);
    $("conn").hidden = problems.size === 0;
  }

  function progressParts(step, total) {
    const s = isNum(step) ? step : 0;
    if (isNum(total) && total > 0) {
      return { text: fmtInt(s) + "/" + fmtInt(total), frac: Math.max(0, Math.min(1, s / total)) };
    }
    return { text: isNum(step) ? fmtInt(step) : "—", frac: null };
  }

  // ================================================================ jobs list

  function startListPage() {
    $("view-list").hidden = false;
    document.title = "dtrain";
    const tbody = $("jobs").tBodies[0];
    const rows = new Map(); // id -> row parts

    function makeRow(id) {
      const link = h("a", { href: jobHref(id) });
      const badge = h("span", { class: "badge" });
      const steps = h("span", { class: "steps" });
      const barFill = h("div", { class: "bar-fill" });
      const bar = h("div", { class: "bar" }, barFill);
      const sps = h("td", { class: "num sps" });
      const started = h("td", { class: "started muted" });
      const type = h("td", { class: "type" });
      const tr = h("tr", null,
        h("td", { class: "name" }, link),
        type,
        h("td", { class: "status" }, badge),
        h("td", { class: "progress" }, h("div", { class: "mini-progress" }, steps, bar)),
        sps,
        started);
      tr.dataset.job = id;
      return { tr, link, badge, steps, bar, barFill, sps, started, type };
    }

    function updateRow(r, job) {
      setText(r.link, job.name || job.id);
      setText(r.type, job.type || "");
      setBadge(r.badge, job.status);
      if (typeof job.error === "string" && job.error) r.badge.title = job.error;
      else r.badge.removeAttribute("title");
      const p = progressParts(job.step, job.totalSteps);
      setText(r.steps, p.text);
      r.bar.hidden = p.frac == null;
      r.barFill.style.width = p.frac == null ? "0" : (p.frac * 100).toFixed(1) + "%";
      r.barFill.classList.toggle("done", job.status === "succeeded");
      r.barFill.classList.toggle("failed", job.status === "failed");
      setText(r.sps, fmtRate(job.samplesPerSecond));
      setText(r.started, isNum(job.startedAt) ? fmtTime(job.startedAt) : "—");
      if (isNum(job.startedAt)) r.started.title = new Date(job.startedAt).toISOString();
    }

    function render(jobs) {
      const seen = new Set();
      jobs.forEach((job, i) => {
        if (!job || job.id == null) return;
        const id = String(job.id);
        seen.add(id);
        let r = rows.get(id);
        if (!r) {
          r = makeRow(id);
          rows.set(id, r);
        }
        updateRow(r, job);
        if (tbody.children[i] !== r.tr) tbody.insertBefore(r.tr, tbody.children[i] || null);
      });
      for (const [id, r] of rows) {
        if (!seen.has(id)) {
          r.tr.remove();
          rows.delete(id);
        }
      }
      $("jobs-empty").hidden = rows.size > 0;
      $("jobs").hidden = rows.size === 0;

      // Exactly one job: keep the list, but make the way in obvious.
      const only = $("only-job");
      const single = rows.size === 1 ? rows.values().next().value : null;
      for (const r of rows.values()) r.tr.classList.toggle("only", r === single);
      if (single) {
        const id = single.tr.dataset.job;
        only.replaceChildren("One job on this coordinator: ",
          h("a", { href: jobHref(id), text: "open " + (single.link.textContent || id) + " →" }));
        only.hidden = false;
      } else {
        only.hidden = true;
      }
    }

    async function poll() {
      try {
        const jobs = await fetchJSON("/api/jobs");
        setProblem("list", false);
        render(Array.isArray(jobs) ? jobs : []);
      } catch {
        setProblem("list", true);
      }
      setTimeout(poll, LIST_POLL_MS);
    }
    poll();
  }

  // ================================================================ job page

  function startJobPage(id) {
    const view = $("view-job");
    view.hidden = false;
    const apiBase = "/api/jobs/" + encodeURIComponent(id);

    let job = { id, name: id, status: null };
    let latestSps = null;
    const store = { train: [], validation: [], eval: [] }; // points sorted by step, one per step

    let es = null;
    let finished = false; // final status seen; no more listening
    let buffer = null; // events held back while a snapshot is in flight
    let loading = false;
    let loadAgain = false;
    let retryTimer = 0;

    // ------------------------------------------------------------ snapshot

    async function loadSnapshot() {
      if (loading) {
        loadAgain = true;
        return;
      }
      loading = true;
      clearTimeout(retryTimer);
      buffer = [];
      let snap = null;
      let missing = false;
      try {
        snap = await fetchJSON(apiBase);
        setProblem("snapshot", false);
      } catch (err) {
        missing = !!(err && err.status === 404);
        setProblem("snapshot", !missing);
      }
      showMissing(missing);
      if (snap) {
        try {
          applySnapshot(snap);
        } catch (err) {
          console.error("dashboard: could not show the job snapshot", err);
        }
      }
      const held = buffer;
      buffer = null;
      for (const [type, data] of held) handleEvent(type, data);
      loading = false;

      if (loadAgain) {
        loadAgain = false;
        loadSnapshot();
        return;
      }
      if (!snap) {
        if (missing) closeEvents();
        retryTimer = setTimeout(loadSnapshot, missing ? MISSING_RETRY_MS : RETRY_MS);
        return;
      }
      if (FINAL.has(job.status)) {
        finished = true;
        closeEvents();
      } else {
        openEvents();
      }
    }

    function showMissing(on) {
      view.classList.toggle("missing", on);
      const el = $("job-missing");
      el.hidden = !on;
      if (on) {
        setText(el, "No job “" + id + "” on this coordinator (yet). Retrying…");
        setText($("job-name"), id);
        document.title = id + " · dtrain";
      }
    }

    function applySnapshot(snap) {
      job = Object.assign({}, snap);
      delete job.series;
      if (job.id == null) job.id = id;
      const series = snap.series || {};
      for (const g of GROUPS) store[g] = normalizeSeries(series[g]);
      const lastTrain = store.train[store.train.length - 1];
      latestSps = isNum(snap.samplesPerSecond) ? snap.samplesPerSecond
        : lastTrain && isNum(lastTrain.samplesPerSecond) ? lastTrain.samplesPerSecond : null;
      renderHeader();
      renderSummary();
      syncAllCharts();
      renderWorkers(snap.workers);
      renderStragglers(snap.stragglers);
      syncPictures(snap.pictures);
      resetNotes(snap.notes);
    }

    // ------------------------------------------------------------ events

    function openEvents() {
      if (es || finished) return;
      const src = new EventSource(apiBase + "/events");
      es = src;
      src.addEventListener("open", () => {
        if (es !== src) return;
        setProblem("events", false);
        loadSnapshot(); // (re)connected: catch up on anything missed
      });
      src.addEventListener("error", () => {
        if (es !== src) return;
        setProblem("events", true);
        if (src.readyState === EventSource.CLOSED) {
          // The browser gave up (e.g. a non-SSE answer); start over ourselves.
          src.close();
          es = null;
          clearTimeout(retryTimer);
          retryTimer = setTimeout(loadSnapshot, RETRY_MS);
        }
      });
      for (const type of EVENT_TYPES) {
        src.addEventListener(type, (ev) => {
          if (es !== src) return;
          let data;
          try {
            data = JSON.parse(ev.data);
          } catch {
            return;
          }
          if (buffer) buffer.push([type, data]);
          else handleEvent(type, data);
        });
      }
    }

    function closeEvents() {
      if (es) es.close();
      es = null;
      setProblem("events", false);
    }

    function handleEvent(type, data) {
      try {
        switch (type) {
          case "metrics":
            onMetrics(data);
            break;
          case "workers":
            renderWorkers(data);
            break;
          case "status":
            onStatus(data);
            break;
          case "picture":
            upsertPicture(data);
            updatePicturesEmpty();
            break;
          case "stragglers":
            renderStragglers(data);
            break;
          case "note":
            addNote(data);
            break;
        }
      } catch (err) {
        console.error("dashboard: could not apply a '" + type + "' event", err);
      }
    }

    function onMetrics(data) {
      if (!data || typeof data !== "object") return;
      const group = data.group;
      const point = data.point;
      if (!GROUPS.includes(group) || !point || typeof point !== "object" || !isNum(point.step)) return;
      ingestPoint(group, point);
      if (group === "train") {
        if (!isNum(job.step) || point.step > job.step) job.step = point.step;
        if (isNum(point.epoch)) job.epoch = point.epoch;
        if (isNum(point.samplesPerSecond)) latestSps = point.samplesPerSecond;
        renderSummary();
      }
    }

    function onStatus(s) {
      if (!s || typeof s !== "object") return;
      for (const k of ["status", "step", "totalSteps", "epoch", "samplesPerSecond", "error"]) {
        if (s[k] !== undefined) job[k] = s[k];
      }
      if (isNum(s.samplesPerSecond)) latestSps = s.samplesPerSecond;
      renderHeader();
      renderSummary();
      if (FINAL.has(job.status) && !finished) {
        finished = true;
        closeEvents();
        loadSnapshot(); // one last look: final metrics, pictures, notes
      }
    }

    // ------------------------------------------------------------ header & summary

    function renderHeader() {
      const name = job.name || job.id || id;
      setText($("job-name"), name);
      document.title = name + " · dtrain";
      setText($("job-type"), job.type || "");
      setBadge($("job-status"), job.status);

      let started = "";
      if (isNum(job.startedAt)) {
        started = "started " + fmtTime(job.startedAt);
        if (job.status === "running") started += " · running " + fmtDuration(Date.now() - job.startedAt);
      } else if (job.status === "queued") {
        started = "waiting to start";
      }
      setText($("job-started"), started);

      const err = typeof job.error === "string" ? job.error : "";
      const box = $("job-error");
      box.hidden = !(job.status === "failed" || err);
      setText(box.querySelector("strong"), job.status === "failed" ? "Job failed" : "Error");
      setText($("job-error-text"), err);
    }

    function renderSummary() {
      const p = progressParts(job.step, job.totalSteps);
      setText($("progress-text"), "Step " + p.text);
      setText($("progress-pct"), p.frac == null ? "" : (p.frac * 100).toFixed(1) + "%");
      $("progress-bar-outer").hidden = p.frac == null;
      const fill = $("progress-bar");
      fill.style.width = p.frac == null ? "0" : (p.frac * 100).toFixed(2) + "%";
      fill.classList.toggle("done", job.status === "succeeded");
      fill.classList.toggle("failed", job.status === "failed");
      setText($("progress-epoch"), "epoch " + (isNum(job.epoch) ? fmtInt(job.epoch) : "—"));
      setText($("throughput-text"), isNum(latestSps) ? fmtRate(latestSps) + " samples/s" : "—");
    }

    // Keep "running 5m 12s" fresh.
    setInterval(() => {
      if (job.status === "running") renderHeader();
    }, 1000);

    // ------------------------------------------------------------ series store

    function normalizeSeries(list) {
      const out = [];
      if (!Array.isArray(list)) return out;
      for (const p of list) if (p && typeof p === "object" && isNum(p.step)) out.push(p);
      out.sort((a, b) => a.step - b.step);
      const dedup = [];
      for (const p of out) {
        const last = dedup[dedup.length - 1];
        if (last && last.step === p.step) dedup[dedup.length - 1] = Object.assign({}, last, p);
        else dedup.push(p);
      }
      return dedup;
    }

    /** First index in the sorted array whose value is >= x. */
    function lowerBound(arr, x, get) {
      let lo = 0;
      let hi = arr.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((get ? get(arr[mid]) : arr[mid]) < x) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    }

    /** Adds a point to a group's store; returns the stored (maybe merged) point. */
    function storeInsert(list, point) {
      const last = list[list.length - 1];
      if (!last || last.step < point.step) {
        list.push(point);
        return point;
      }
      const i = lowerBound(list, point.step, (p) => p.step);
      if (list[i] && list[i].step === point.step) {
        list[i] = Object.assign({}, list[i], point);
        return list[i];
      }
      list.splice(i, 0, point);
      return point;
    }

    // ------------------------------------------------------------ charts

    const chartsEl = $("charts");
    const charts = new Map(); // family -> chart
    const dirty = new Set();
    let redrawTimer = 0;
    let lastRedraw = 0;
    const syncKey = "dtrain-job-" + id;

    function familyOf(group, key) {
      if (key === "samplesPerSecond") return group === "train" ? "throughput" : null;
      if (key === "computeMs" || key === "commMs") return group === "train" ? "stepTime" : null;
      if (NOT_A_FAMILY.has(key)) return null;
      if (key === "dLoss" || key === "gLoss") return "losses";
      return key;
    }

    function familyRank(fam) {
      return fam in FAMILY_RANK ? FAMILY_RANK[fam] : 10;
    }
    function compareFamilies(a, b) {
      return familyRank(a) - familyRank(b) || (a < b ? -1 : a > b ? 1 : 0);
    }
    function compareCols(a, b) {
      const ka = a.key in KEY_RANK ? KEY_RANK[a.key] : 10;
      const kb = b.key in KEY_RANK ? KEY_RANK[b.key] : 10;
      if (ka !== kb) return ka - kb;
      if (a.key !== b.key) return a.key < b.key ? -1 : 1;
      return GROUPS.indexOf(a.group) - GROUPS.indexOf(b.group);
    }
    function colId(group, key) {
      return group + "\u0000" + key;
    }

    /** Families present in the store, each with its sorted series columns. */
    function scanFamilies() {
      const fams = new Map(); // fam -> Map(colId -> col)
      for (const group of GROUPS) {
        for (const p of store[group]) {
          for (const key in p) {
            if (!isNum(p[key])) continue;
            const fam = familyOf(group, key);
            if (!fam) continue;
            let cols = fams.get(fam);
            if (!cols) fams.set(fam, (cols = new Map()));
            const cid = colId(group, key);
            if (!cols.has(cid)) cols.set(cid, { group, key });
          }
        }
      }
      const out = new Map();
      for (const [fam, cols] of fams) out.set(fam, Array.from(cols.values()).sort(compareCols));
      return out;
    }

    /** Aligned uPlot data for columns: x = union of steps, null where a column has no value. */
    function buildData(cols) {
      const perGroup = {};
      for (const g of GROUPS) {
        const gcols = cols.filter((c) => c.group === g);
        perGroup[g] = gcols.length === 0 ? [] : store[g].filter((p) => gcols.some((c) => isNum(p[c.key])));
      }
      // The union of the groups' sorted step lists.
      const xs = Array.from(new Set(GROUPS.flatMap((g) => perGroup[g].map((p) => p.step)))).sort((p, q) => p - q);
      const index = new Map();
      xs.forEach((x, k) => index.set(x, k));
      const data = [xs];
      for (const c of cols) {
        const ys = new Array(xs.length).fill(null);
        for (const p of perGroup[c.group]) if (isNum(p[c.key])) ys[index.get(p.step)] = p[c.key];
        data.push(ys);
      }
      return data;
    }

    function seriesLabel(fam, col, multiKey) {
      if (!multiKey) return col.group;
      return col.group + " " + (KEY_LABEL[col.key] || col.key);
    }

    function seriesColor(fam, col, keys) {
      if (KEY_COLOR[col.key] && (fam === "stepTime" || fam === "throughput")) return KEY_COLOR[col.key];
      if (keys.length <= 1) return GROUP_COLOR[col.group] || PALETTE[0];
      return PALETTE[keys.indexOf(col.key) % PALETTE.length];
    }

    function seriesOpts(fam, cols) {
      const keys = Array.from(new Set(cols.map((c) => c.key)));
      const multiKey = keys.length > 1;
      return cols.map((col) => {
        const stroke = seriesColor(fam, col, keys);
        const s = {
          label: seriesLabel(fam, col, multiKey),
          stroke,
          width: 1.75,
          spanGaps: true, // the other group's steps leave nulls here
          // at the cursor: that step's value; cursor away: the latest value
          value: (u, v, si, idx) => fmtVal(idx == null ? lastValue(u.data[si]) : v),
        };
        if (col.group !== "train") {
          // evaluation points are sparse: always mark them
          s.points = { show: true, size: 6, width: 1.5, stroke, fill: "#ffffff" };
          if (multiKey) s.dash = [5, 4];
        }
        return s;
      });
    }

    function lastValue(arr) {
      if (!arr) return null;
      for (let i = arr.length - 1; i >= 0; i--) if (arr[i] != null) return arr[i];
      return null;
    }

    function yAxisSize(u, values, axisIdx, cycleNum) {
      const axis = u.axes[axisIdx];
      if (cycleNum > 1) return axis._size; // settle; avoids a resize loop
      let size = axis.ticks.size + axis.gap;
      let longest = "";
      for (const v of values || []) if (v != null && String(v).length > longest.length) longest = String(v);
      if (longest) {
        u.ctx.font = axis.font[0];
        size += u.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
      }
      return Math.ceil(Math.max(size, 30));
    }

    function chartOpts(c, width) {
      const axisCommon = {
        stroke: "#6b7280",
        grid: { stroke: "#eef0f3", width: 1 },
        ticks: { stroke: "#e2e5ea", width: 1, size: 4 },
      };
      return {
        width,
        height: CHART_HEIGHT,
        scales: { x: { time: false } },
        series: [
          { label: "step", value: (u, v, _si, idx) => fmtInt(idx == null ? lastValue(u.data[0]) : v) },
          ...seriesOpts(c.fam, c.cols),
        ],
        axes: [
          Object.assign({}, axisCommon, { values: (_u, splits) => splits.map(fmtTick) }),
          Object.assign({}, axisCommon, { values: (_u, splits) => splits.map(fmtTick), size: yAxisSize }),
        ],
        cursor: { sync: { key: syncKey }, drag: { x: true, y: false } },
        legend: { live: true },
        hooks: {
          // a drag-select zooms x: stop live updates from resetting the zoom
          setSelect: [(u) => {
            if (u.select.width > 0) c.zoomed = true;
          }],
        },
      };
    }

    function chartWidth(c) {
      return Math.max(200, Math.floor(c.body.clientWidth));
    }

    function makeChartElement(fam) {
      const body = h("div", { class: "chart-body" });
      const el = h("div", { class: "chart" }, h("h3", { text: FAMILY_TITLE[fam] || fam }), body);
      el.dataset.metric = fam;
      // keep the families in a stable order
      let before = null;
      for (const other of chartsEl.children) {
        if (compareFamilies(fam, other.dataset.metric) < 0) {
          before = other;
          break;
        }
      }
      chartsEl.insertBefore(el, before);
      return { fam, el, body, cols: [], colIds: new Set(), data: [[]], u: null, zoomed: false, width: 0 };
    }

    /** (Re)creates a chart's uPlot for new columns. */
    function buildChart(c, cols) {
      if (c.u) {
        c.u.destroy();
        c.u = null;
      }
      dirty.delete(c);
      c.cols = cols;
      c.colIds = new Set(cols.map((col) => colId(col.group, col.key)));
      c.data = buildData(cols);
      c.zoomed = false;
      if (typeof uPlot === "undefined") {
        setText(c.body, "(the charting library did not load)");
        return;
      }
      c.width = chartWidth(c);
      c.u = new uPlot(chartOpts(c, c.width), c.data, c.body);
      c.el.dataset.points = String(c.data[0].length);
      c.u.over.addEventListener("dblclick", () => {
        c.zoomed = false; // uPlot resets the zoom on double-click
      });
    }

    function sameCols(c, cols) {
      return c.colIds.size === cols.length && cols.every((col) => c.colIds.has(colId(col.group, col.key)));
    }

    /** After a snapshot: every chart's data rebuilt from the store. */
    function syncAllCharts() {
      const fams = scanFamilies();
      for (const [fam, c] of charts) {
        if (!fams.has(fam)) {
          if (c.u) c.u.destroy();
          c.u = null;
          dirty.delete(c);
          c.el.remove();
          charts.delete(fam);
        }
      }
      for (const fam of Array.from(fams.keys()).sort(compareFamilies)) {
        const cols = fams.get(fam);
        let c = charts.get(fam);
        if (c && sameCols(c, cols)) {
          c.data = buildData(cols);
          markDirty(c);
          continue;
        }
        if (!c) {
          c = makeChartElement(fam);
          charts.set(fam, c);
        }
        buildChart(c, cols);
      }
      $("charts-empty").hidden = charts.size > 0;
    }

    /** One live point: appended to the store and to each affected chart's arrays. */
    function ingestPoint(group, point) {
      const stored = storeInsert(store[group], point);
      if (store[group].length > MAX_POINTS) {
        // as the server does: past the cap every other point goes (the curve keeps its shape)
        store[group] = store[group].filter((_, i, all) => i % 2 === 1 || i === all.length - 1);
        syncAllCharts();
        return;
      }
      const famKeys = new Map(); // fam -> keys in this point
      for (const key in point) {
        if (!isNum(point[key])) continue;
        const fam = familyOf(group, key);
        if (!fam) continue;
        if (!famKeys.has(fam)) famKeys.set(fam, []);
        famKeys.get(fam).push(key);
      }
      let rescanned = null;
      for (const [fam, keys] of famKeys) {
        let c = charts.get(fam);
        if (c && keys.every((k) => c.colIds.has(colId(group, k)))) {
          insertIntoChart(c, group, stored);
          continue;
        }
        // a new family or a new series in one: (re)build that chart from the store
        if (!rescanned) rescanned = scanFamilies();
        if (!c) {
          c = makeChartElement(fam);
          charts.set(fam, c);
        }
        buildChart(c, rescanned.get(fam) || []);
      }
      $("charts-empty").hidden = charts.size > 0;
    }

    function insertIntoChart(c, group, point) {
      const xs = c.data[0];
      const x = point.step;
      let i;
      if (xs.length === 0 || xs[xs.length - 1] < x) {
        i = xs.length;
        xs.push(x);
        for (let k = 1; k < c.data.length; k++) c.data[k].push(null);
      } else {
        i = lowerBound(xs, x);
        if (xs[i] !== x) {
          xs.splice(i, 0, x);
          for (let k = 1; k < c.data.length; k++) c.data[k].splice(i, 0, null);
        }
      }
      c.cols.forEach((col, k) => {
        if (col.group === group && isNum(point[col.key])) c.data[k + 1][i] = point[col.key];
      });
      markDirty(c);
    }

    function markDirty(c) {
      dirty.add(c);
      if (redrawTimer) return;
      const wait = Math.max(0, lastRedraw + REDRAW_MS - performance.now());
      redrawTimer = setTimeout(flushCharts, wait);
    }

    function flushCharts() {
      redrawTimer = 0;
      lastRedraw = performance.now();
      for (const c of dirty) {
        if (!c.u) continue;
        c.u.setData(c.data, !c.zoomed);
        // how many steps the chart draws: tests (and curious users) read it from the DOM
        c.el.dataset.points = String(c.data[0].length);
      }
      dirty.clear();
    }

    let resizeQueued = false;
    function queueResize() {
      if (resizeQueued) return;
      resizeQueued = true;
      requestAnimationFrame(() => {
        resizeQueued = false;
        for (const c of charts.values()) {
          if (!c.u) continue;
          const w = chartWidth(c);
          if (w !== c.width) {
            c.width = w;
            c.u.setSize({ width: w, height: CHART_HEIGHT });
          }
        }
      });
    }
    window.addEventListener("resize", queueResize);
    if (typeof ResizeObserver === "function") new ResizeObserver(queueResize).observe(chartsEl);

    // ------------------------------------------------------------ workers

    const workerTbody = $("workers").tBodies[0];
    const workerRows = new Map(); // rank -> row parts

    function makeWorkerRow(rank) {
      const cells = {};
      for (const k of ["rank", "host", "step", "compute", "wait", "reduce"]) {
        cells[k] = h("td", { class: k === "host" ? "host" : "num " + k });
      }
      const segs = {
        compute: h("span", { class: "seg compute" }),
        wait: h("span", { class: "seg wait" }),
        reduce: h("span", { class: "seg reduce" }),
      };
      const share = h("div", { class: "share" }, segs.compute, segs.wait, segs.reduce);
      const state = h("td", { class: "worker-state" });
      const tr = h("tr", null, cells.rank, cells.host, cells.step, cells.compute, cells.wait, cells.reduce,
        h("td", { class: "share-col" }, share), state);
      tr.dataset.rank = rank;
      return { tr, cells, segs, share, state };
    }

    function renderWorkers(list) {
      if (!Array.isArray(list)) return;
      const workers = list.filter((w) => w && typeof w === "object" && w.rank != null)
        .slice()
        .sort((a, b) => Number(a.rank) - Number(b.rank));
      const seen = new Set();
      const emptyRow = workerTbody.querySelector("tr.empty-row");
      if (workers.length === 0) {
        for (const r of workerRows.values()) r.tr.remove();
        workerRows.clear();
        if (!emptyRow) {
          workerTbody.append(h("tr", { class: "empty-row" },
            h("td", { colspan: 8, class: "muted", text: "No worker data yet" })));
        }
        return;
      }
      if (emptyRow) emptyRow.remove();
      workers.forEach((w, i) => {
        const rank = String(w.rank);
        seen.add(rank);
        let r = workerRows.get(rank);
        if (!r) {
          r = makeWorkerRow(rank);
          workerRows.set(rank, r);
        }
        setText(r.cells.rank, rank);
        setText(r.cells.host, w.host == null ? "—" : w.host);
        setText(r.cells.step, fmtInt(w.step));
        setText(r.cells.compute, fmt1(w.computeMs));
        setText(r.cells.wait, fmt1(w.waitMs));
        setText(r.cells.reduce, fmt1(w.collectiveMs));
        const parts = {
          compute: isNum(w.computeMs) && w.computeMs > 0 ? w.computeMs : 0,
          wait: isNum(w.waitMs) && w.waitMs > 0 ? w.waitMs : 0,
          reduce: isNum(w.collectiveMs) && w.collectiveMs > 0 ? w.collectiveMs : 0,
        };
        const total = parts.compute + parts.wait + parts.reduce;
        const pct = (v) => (total > 0 ? (v / total) * 100 : 0);
        for (const k of ["compute", "wait", "reduce"]) r.segs[k].style.width = pct(parts[k]).toFixed(2) + "%";
        r.share.title = total > 0
          ? "compute " + pct(parts.compute).toFixed(0) + "% · wait " + pct(parts.wait).toFixed(0) +
            "% · all-reduce " + pct(parts.reduce).toFixed(0) + "%"
          : "no timings yet";
        const straggler = w.straggler === true;
        r.tr.classList.toggle("straggler", straggler);
        setText(r.state, straggler ? "straggler" : "ok");
        if (workerTbody.children[i] !== r.tr) workerTbody.insertBefore(r.tr, workerTbody.children[i] || null);
      });
      for (const [rank, r] of workerRows) {
        if (!seen.has(rank)) {
          r.tr.remove();
          workerRows.delete(rank);
        }
      }
    }

    function renderStragglers(list) {
      if (!Array.isArray(list)) return;
      const el = $("stragglers");
      const periods = list.filter((s) => s && typeof s === "object" && s.rank != null);
      if (periods.length === 0) {
        el.replaceChildren("No stragglers detected.");
        return;
      }
      // ongoing first, then the most recent
      const sorted = periods.slice().sort((a, b) => {
        const oa = isNum(a.untilStep) ? 1 : 0;
        const ob = isNum(b.untilStep) ? 1 : 0;
        return oa - ob || (Number(b.sinceStep) || 0) - (Number(a.sinceStep) || 0);
      });
      const shown = sorted.slice(0, MAX_STRAGGLER_PERIODS);
      const nodes = shown.map((s) => {
        const ratio = isNum(s.ratio) ? " (" + s.ratio.toFixed(1) + "×)" : "";
        const ongoing = !isNum(s.untilStep);
        const text = ongoing
          ? "worker " + s.rank + " slow since step " + fmtInt(s.sinceStep) + ratio
          : "worker " + s.rank + " slow from step " + fmtInt(s.sinceStep) + " to " + fmtInt(s.untilStep) + ratio;
        return h("span", { class: "period" + (ongoing ? " ongoing" : ""), text });
      });
      if (sorted.length > shown.length) {
        nodes.push(h("span", { class: "period", text: "+" + (sorted.length - shown.length) + " earlier" }));
      }
      el.replaceChildren(...nodes);
    }

    // ------------------------------------------------------------ pictures

    const picturesEl = $("pictures");
    const pictures = new Map(); // name -> figure parts

    function pictureSrc(url, updated) {
      const v = updated == null ? "0" : String(updated);
      return url + (url.includes("?") ? "&" : "?") + "v=" + encodeURIComponent(v);
    }

    function upsertPicture(p) {
      if (!p || typeof p !== "object" || typeof p.name !== "string") return;
      const url = safeUrl(p.url);
      if (!url) return;
      let f = pictures.get(p.name);
      if (!f) {
        const img = h("img", { alt: p.name, decoding: "async" });
        img.addEventListener("load", () => {
          img.classList.toggle("pixelated", img.naturalWidth > 0 && img.naturalWidth < img.clientWidth);
        });
        const link = h("a", { class: "pic", target: "_blank", rel: "noopener" }, img);
        const name = h("span", { class: "pic-name", text: p.name });
        const step = h("span", { class: "pic-step muted" });
        const fig = h("figure", null, link, h("figcaption", null, name, step));
        fig.dataset.picture = p.name;
        f = { fig, img, link, step, src: null };
        pictures.set(p.name, f);
        let before = null;
        for (const other of picturesEl.children) {
          if (p.name < other.dataset.picture) {
            before = other;
            break;
          }
        }
        picturesEl.insertBefore(fig, before);
      }
      setText(f.step, isNum(p.step) ? "step " + fmtInt(p.step) : "");
      f.fig.title = isNum(p.updated) ? "updated " + new Date(p.updated).toLocaleString() : "";
      const src = pictureSrc(url, p.updated);
      if (src === f.src) return;
      f.src = src;
      f.link.href = src;
      if (!f.img.getAttribute("src")) {
        f.img.src = src;
        return;
      }
      // swap only once the new file is loaded, so the old one does not blink out
      const pre = new Image();
      const swap = () => {
        if (f.src === src) f.img.src = src;
      };
      pre.onload = swap;
      pre.onerror = swap;
      pre.src = src;
    }

    function syncPictures(list) {
      if (!Array.isArray(list)) list = [];
      const names = new Set();
      for (const p of list) {
        if (p && typeof p.name === "string") names.add(p.name);
        upsertPicture(p);
      }
      for (const [name, f] of pictures) {
        if (!names.has(name)) {
          f.fig.remove();
          pictures.delete(name);
        }
      }
      updatePicturesEmpty();
    }

    function updatePicturesEmpty() {
      $("pictures-empty").hidden = pictures.size > 0;
    }

    // ------------------------------------------------------------ notes

    const notesEl = $("notes");
    const notes = new Set();

    function addNote(text) {
      if (text == null) return;
      const s = typeof text === "string" ? text : JSON.stringify(text);
      if (notes.has(s)) return; // snapshot + replayed event
      notes.add(s);
      notesEl.append(h("li", { text: s }));
      while (notesEl.children.length > MAX_NOTES) {
        notes.delete(notesEl.firstChild.textContent);
        notesEl.firstChild.remove();
      }
      $("notes-empty").hidden = true;
    }

    function resetNotes(list) {
      notes.clear();
      notesEl.replaceChildren();
      if (Array.isArray(list)) for (const n of list) addNote(n);
      $("notes-empty").hidden = notes.size > 0;
    }

    // ------------------------------------------------------------ start

    setText($("job-name"), id);
    document.title = id + " · dtrain";
    renderWorkers([]);
    loadSnapshot();
  }

  // ================================================================ routing

  function route() {
    const m = /^\/jobs\/([^/]+)\/?$/.exec(location.pathname);
    if (m) {
      let id = m[1];
      try {
        id = decodeURIComponent(m[1]);
      } catch {
        // keep it as written
      }
      startJobPage(id);
    } else {
      startListPage();
    }
  }

  route();
})();
