// The live score board of a sitting (shown on a screen at the test site and streamed publicly):
// every finished candidate by pseudonym with section scores, total and pass/fail, updated by
// itself from the server-sent events of /api/v1/public/live/{sitting}. Reconnects with backoff
// when the stream drops; polls the board every 5 s where EventSource is unavailable.

import { $, $$, ApiError, announce, api, el, errorText, fill, formatScore, language, showError, t } from "./common.js";

const root = $("#live");
const STREAM = `/api/v1/public/live/${encodeURIComponent(root.dataset.sitting)}`;
const BOARD = `${STREAM}/board`;
const POLL_MS = 5000;
const BACKOFF_MS = [1000, 2000, 5000, 10000, 20000, 30000];
const FRESH_MS = 10000;
const SORTS = ["newest", "total"];

const board = {
  sections: [],
  rows: new Map(), // pseudonym -> row
  fresh: new Map(), // pseudonym -> time it arrived (performance.now)
  sort: SORTS.includes(new URLSearchParams(location.search).get("sort"))
    ? new URLSearchParams(location.search).get("sort")
    : "newest",
  source: null,
  failures: 0,
  retry: null,
  boards: 0, // board events received: the first one is the initial board, never announced
  lost: false,
  loaded: false,
};

const timeFormat = new Intl.DateTimeFormat(language === "id" ? "id-ID" : "en-GB", { timeStyle: "medium" });

// --------------------------------------------------------------------------------------------
// Connection state

function setConnection(state, params = {}) {
  const node = $("#live-connection");
  node.dataset.state = state;
  node.textContent = t(`live.connection.${state}`, params);
}

function backoff() {
  const delay = BACKOFF_MS[Math.min(board.failures, BACKOFF_MS.length - 1)];
  board.failures += 1;
  return delay;
}

function connectionLost() {
  if (!board.lost) announce(t("live.lost"));
  board.lost = true;
}

function connectionBack() {
  if (board.lost) announce(t("live.back"));
  board.lost = false;
  board.failures = 0;
}

// --------------------------------------------------------------------------------------------
// Rows

function passedBadge(passed) {
  return el("span", {
    className: `badge ${passed ? "pass" : "fail"}`,
    textContent: passed ? t("result.rule_passed") : t("result.rule_failed"),
  });
}

function finishedAt(row) {
  return Date.parse(row.finished_at) || 0;
}

function ordered() {
  const rows = [...board.rows.values()];
  if (board.sort === "total") {
    return rows.sort((a, b) => b.total - a.total || finishedAt(a) - finishedAt(b));
  }
  return rows.sort((a, b) => finishedAt(b) - finishedAt(a) || b.total - a.total);
}

function renderHead() {
  $("#live-head-row").replaceChildren(
    el("th", { scope: "col", className: "num", textContent: t("live.number") }),
    el("th", { scope: "col", textContent: t("rankings.pseudonym") }),
    ...board.sections.map((section) =>
      el("th", { scope: "col", className: "num" }, el("abbr", { title: section.name, textContent: section.code })),
    ),
    el("th", { scope: "col", className: "num", textContent: t("result.total") }),
    el("th", { scope: "col", textContent: t("result.outcome") }),
    el("th", { scope: "col", className: "num", textContent: t("live.finished_at") }),
  );
}

function renderRows() {
  if (!board.loaded) return;
  const now = performance.now();
  const rows = ordered();
  $("#live-body").replaceChildren(
    ...rows.map((row, index) => {
      const fresh = now - (board.fresh.get(row.pseudonym) ?? -Infinity) < FRESH_MS;
      return el(
        "tr",
        { "data-pseudonym": row.pseudonym, "data-passed": String(row.passed), className: fresh ? "fresh" : "" },
        el("td", { className: "num", textContent: index + 1 }),
        el("th", { scope: "row", className: "mono pseudonym", textContent: row.pseudonym }),
        ...board.sections.map((section) =>
          el("td", { className: "num", textContent: formatScore(row.sections?.[section.code] ?? 0) }),
        ),
        el("td", { className: "num total", textContent: formatScore(row.total) }),
        el("td", {}, passedBadge(row.passed)),
        el("td", { className: "num", textContent: row.finished_at ? timeFormat.format(new Date(row.finished_at)) : "—" }),
      );
    }),
  );
  const passed = rows.filter((row) => row.passed).length;
  $("#live-count").textContent = rows.length;
  $("#live-passed").textContent = passed;
  $("#live-failed").textContent = rows.length - passed;
  $("#live-empty").hidden = rows.length > 0;
  $("#live-table").hidden = rows.length === 0;
}

function announceNew(rows) {
  if (rows.length === 1) {
    const [row] = rows;
    announce(
      t("live.new_result", {
        pseudonym: row.pseudonym,
        total: formatScore(row.total),
        outcome: row.passed ? t("result.rule_passed") : t("result.rule_failed"),
      }),
    );
  } else if (rows.length > 1) {
    announce(t("live.new_results", { count: rows.length }));
  }
}

/** Add or update results; `announceThem` says the new ones to screen readers. */
function addResults(rows, { announceThem }) {
  const added = [];
  const now = performance.now();
  for (const row of rows) {
    if (!board.rows.has(row.pseudonym)) {
      added.push(row);
      board.fresh.set(row.pseudonym, now);
    }
    board.rows.set(row.pseudonym, row);
  }
  renderRows();
  if (announceThem) announceNew(added);
}

/** The whole board (the stream's first event, or a poll): replaces what is shown. */
function replaceBoard(rows, { announceThem }) {
  const known = new Set(board.rows.keys());
  board.rows.clear();
  const now = performance.now();
  const added = [];
  for (const row of rows) {
    board.rows.set(row.pseudonym, row);
    if (announceThem && !known.has(row.pseudonym)) {
      added.push(row);
      board.fresh.set(row.pseudonym, now);
    }
  }
  renderRows();
  if (announceThem) announceNew(added);
}

// Fresh rows lose their highlight after a while.
setInterval(() => {
  const now = performance.now();
  let expired = false;
  for (const [pseudonym, at] of board.fresh) {
    if (now - at >= FRESH_MS) {
      board.fresh.delete(pseudonym);
      expired = true;
    }
  }
  if (expired) {
    for (const row of $$("#live-body tr.fresh")) {
      if (!board.fresh.has(row.dataset.pseudonym)) row.classList.remove("fresh");
    }
  }
}, 1000);

// --------------------------------------------------------------------------------------------
// The stream, its reconnection, and polling where EventSource is missing

function streamFailed() {
  board.source?.close();
  board.source = null;
  connectionLost();
  const delay = backoff();
  setConnection("retrying", { seconds: Math.round(delay / 1000) });
  clearTimeout(board.retry);
  board.retry = setTimeout(connect, delay);
}

function connect() {
  setConnection(board.boards ? "reconnecting" : "connecting");
  const source = new EventSource(STREAM);
  board.source = source;
  source.addEventListener("board", (event) => {
    const rows = JSON.parse(event.data);
    replaceBoard(rows, { announceThem: board.boards > 0 });
    board.boards += 1;
    connectionBack();
    setConnection("live");
  });
  source.addEventListener("result", (event) => {
    addResults([JSON.parse(event.data)], { announceThem: true });
  });
  // The browser's own retry has no backoff and gives up on an HTTP error: take over.
  source.addEventListener("error", () => {
    if (board.source === source) streamFailed();
  });
}

async function poll(first = false) {
  try {
    const data = await api("GET", BOARD);
    replaceBoard(data.rows, { announceThem: !first });
    connectionBack();
    setConnection("polling", { time: timeFormat.format(new Date()) });
  } catch {
    connectionLost();
    setConnection("offline");
  }
  setTimeout(poll, POLL_MS);
}

// --------------------------------------------------------------------------------------------
// Start: the sitting's details and the board so far, then live updates

function showSitting(data) {
  const sitting = data.sitting;
  fill(root, {
    "exam-title": data.exam.title || data.exam.code,
    sitting: [sitting.name, sitting.site, sitting.room].filter(Boolean).join(" · "),
  });
  document.title = `${t("live.title")}: ${sitting.name} · Ujian`;
  board.sections = data.sections;
  renderHead();
}

async function start() {
  let data;
  try {
    data = await api("GET", BOARD);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 422)) {
      fill(root, { "exam-title": t("live.title") });
      showError($("#live-error"), t("live.not_found"));
      setConnection("stopped");
      $("#live-table").hidden = true;
      return;
    }
    showError($("#live-error"), errorText(error, "live.error"));
    const delay = backoff();
    setConnection("retrying", { seconds: Math.round(delay / 1000) });
    setTimeout(start, delay);
    return;
  }
  showError($("#live-error"), null);
  board.failures = 0;
  board.loaded = true;
  showSitting(data);
  replaceBoard(data.rows, { announceThem: false });
  if (typeof window.EventSource === "function") {
    connect();
  } else {
    setTimeout(poll, POLL_MS);
    setConnection("polling", { time: timeFormat.format(new Date()) });
  }
}

// --------------------------------------------------------------------------------------------
// Controls: the order and full screen

function setSort(sort) {
  board.sort = sort;
  for (const button of $$("[data-sort]")) button.setAttribute("aria-pressed", String(button.dataset.sort === sort));
  const url = new URL(location.href);
  if (sort === "newest") url.searchParams.delete("sort");
  else url.searchParams.set("sort", sort);
  history.replaceState(null, "", url.pathname + url.search + url.hash);
  renderRows();
}

for (const button of $$("[data-sort]")) button.addEventListener("click", () => setSort(button.dataset.sort));

const fullscreen = $("#fullscreen-button");
if (!document.fullscreenEnabled) fullscreen.hidden = true;
fullscreen.addEventListener("click", () => {
  const request = document.fullscreenElement
    ? document.exitFullscreen()
    : document.documentElement.requestFullscreen();
  request.catch(() => {});
});
document.addEventListener("fullscreenchange", () => {
  fullscreen.textContent = document.fullscreenElement ? t("live.exit_fullscreen") : t("live.fullscreen");
});

setSort(board.sort);
start();
