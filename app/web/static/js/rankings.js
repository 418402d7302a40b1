// The published rankings of an exam, per formation: the snapshot (number, time, content hash),
// what changed since the snapshot it superseded, every candidate by pseudonym with the status
// codes P/L, P, T/L and TH, a pseudonym search (?q=) and the CSV download.

import { $, ApiError, announce, api, el, errorText, fill, formatDateTime, formatScore, showError, t } from "./common.js";

const root = $("#rankings");
const exam = root.dataset.exam;
const API = `/api/v1/public/rankings/${encodeURIComponent(exam)}`;
const STATUS_KEYS = { "P/L": "pl", P: "p", "T/L": "tl", TH: "th" };
const HASH_SHOWN = 12;

// Pseudonyms end in a check symbol (Damm's algorithm over GF(32), see scoring/pseudonym.py):
// a single mistyped symbol or a swap of neighbours is caught here, before asking the server.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const GF32_MODULUS = 0b100101;

function canonical(text) {
  return text.toUpperCase().replace(/[\s\-_.]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
}

/** False only for a well-formed pseudonym whose check symbol does not match (a typing slip). */
function checkSymbolMatches(text) {
  const symbols = canonical(text);
  if (symbols.length !== 11 || [...symbols].some((c) => !ALPHABET.includes(c))) return true; // the server explains
  let interim = 0;
  for (const symbol of symbols) {
    let doubled = interim << 1;
    if (doubled & 32) doubled ^= GF32_MODULUS;
    interim = doubled ^ ALPHABET.indexOf(symbol);
  }
  return interim === 0;
}

function statusCode(status) {
  const key = STATUS_KEYS[status];
  return el("abbr", {
    className: "status-code",
    "data-status": status,
    title: key ? t(`rankings.status.${key}`) : status,
    textContent: status,
  });
}

function score(value) {
  return value === null || value === undefined ? "—" : formatScore(value);
}

function arrow(before, after, format = (v) => v ?? "—") {
  if (before === after) return String(format(before));
  return `${format(before)} → ${format(after)}`;
}

function fact(label, ...value) {
  return el("div", {}, el("dt", { textContent: label }), el("dd", {}, ...value));
}

function hashFact(hash) {
  // Shortened on screen, the whole hash on hover and when opened (keyboard: Enter on the summary).
  return el(
    "details",
    { className: "hash" },
    el("summary", { className: "mono", title: hash, textContent: `${hash.slice(0, HASH_SHOWN)}…` }),
    el("code", { className: "mono hash-full", textContent: hash }),
  );
}

function changesTable(changes) {
  return el(
    "table",
    { className: "table compact" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { scope: "col", textContent: t("rankings.pseudonym") }),
        el("th", { scope: "col", textContent: t("rankings.rank") }),
        el("th", { scope: "col", textContent: t("rankings.status") }),
        el("th", { scope: "col", textContent: t("result.total") }),
        el("th", { scope: "col", textContent: t("rankings.why") }),
      ),
    ),
    el(
      "tbody",
      {},
      ...changes.map((change) =>
        el(
          "tr",
          {},
          el("th", { scope: "row", className: "mono", textContent: change.pseudonym }),
          el("td", { className: "nowrap", textContent: arrow(change.old_rank, change.new_rank) }),
          el("td", { className: "nowrap", textContent: arrow(change.old_status, change.new_status) }),
          el("td", { className: "nowrap", textContent: arrow(change.old_total, change.new_total, score) }),
          el("td", { className: "reason", textContent: change.reason }),
        ),
      ),
    ),
  );
}

function rankingTable(view, sections) {
  return el(
    "table",
    { className: "table ranking-table" },
    el("caption", { className: "sr-only", textContent: t("rankings.caption", { formation: view.formation.code }) }),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { scope: "col", className: "num", textContent: t("rankings.rank") }),
        el("th", { scope: "col", textContent: t("rankings.pseudonym") }),
        ...sections.map((section) =>
          el("th", { scope: "col", className: "num" }, el("abbr", { title: section.name, textContent: section.code })),
        ),
        el("th", { scope: "col", className: "num", textContent: t("result.total") }),
        el("th", { scope: "col", textContent: t("rankings.status") }),
      ),
    ),
    el(
      "tbody",
      {},
      ...view.rows.map((row) =>
        el(
          "tr",
          { "data-status": row.status, "data-pseudonym": row.pseudonym },
          el("td", { className: "num", textContent: row.rank ?? "—" }),
          el("th", { scope: "row", className: "mono", textContent: row.pseudonym }),
          ...sections.map((section) => el("td", { className: "num", textContent: score(row.sections?.[section.code]) })),
          el("td", { className: "num total", textContent: score(row.total) }),
          el("td", {}, statusCode(row.status)),
        ),
      ),
    ),
  );
}

function anchorOf(formation) {
  return `formasi-${formation.code}`.replace(/[^\w-]/g, "-");
}

function titleOf(formation) {
  return [formation.position, formation.agency].filter(Boolean).join(" — ") || formation.code;
}

/** Links to each formation's section, when there are several. */
function formationNav(views) {
  if (views.length < 2) return null;
  return el(
    "nav",
    { className: "panel formation-nav", "aria-label": t("rankings.formations") },
    el("strong", { textContent: t("rankings.formations") }),
    el(
      "ul",
      {},
      ...views.map((view) =>
        el("li", {}, el("a", { href: `#${anchorOf(view.formation)}`, textContent: `${view.formation.code}: ${titleOf(view.formation)}` })),
      ),
    ),
  );
}

function formationSection(view, sections, searching) {
  const formation = view.formation;
  const snapshot = view.snapshot;
  const id = anchorOf(formation);
  const title = titleOf(formation);
  const section = el(
    "section",
    { className: "panel formation", "aria-labelledby": id },
    el("h2", { id, textContent: title }),
    el(
      "dl",
      { className: "facts" },
      fact(t("rankings.formation"), formation.code),
      formation.openings !== null ? fact(t("rankings.openings"), String(formation.openings)) : null,
      formation.cut !== null ? fact(t("rankings.cut"), String(formation.cut)) : null,
      fact(t("rankings.snapshot"), t("rankings.snapshot_number", { n: snapshot.number })),
      fact(t("rankings.published_at"), formatDateTime(snapshot.published_at)),
      fact(t("rankings.hash"), hashFact(snapshot.content_hash)),
    ),
  );
  if (snapshot.supersedes) {
    const changes = snapshot.changes ?? [];
    section.append(
      el(
        "div",
        { className: "diff" },
        el("h3", { textContent: t("rankings.changes", { count: changes.length, n: snapshot.number - 1 }) }),
        el("p", { className: "cause" }, el("strong", { textContent: `${t("rankings.cause")}: ` }), snapshot.cause),
        changes.length ? changesTable(changes) : el("p", { className: "muted", textContent: t("rankings.no_changes") }),
      ),
    );
  }
  if (view.rows.length) {
    section.append(el("div", { className: "table-scroll" }, rankingTable(view, sections)));
  } else {
    section.append(el("p", { className: "muted", textContent: searching ? t("rankings.not_in_formation") : t("rankings.empty") }));
  }
  return section;
}

function render(data) {
  fill(root, {
    "exam-title": data.exam.title || data.exam.code,
    "exam-sub": t("rankings.exam_sub", { code: data.exam.code, version: data.exam.version ?? "—" }),
  });
  document.title = `${t("rankings.title")}: ${data.exam.title || data.exam.code} · Ujian`;
  const searching = Boolean(data.query);
  const views = searching ? data.formations.filter((view) => view.rows.length) : data.formations;
  $("#formations").replaceChildren(
    ...[formationNav(views), ...views.map((view) => formationSection(view, data.sections, searching))].filter(Boolean),
  );
  const status = $("#search-status");
  if (searching) {
    const found = data.formations.flatMap((view) =>
      view.rows.map((row) => ({ formation: view.formation.code, rank: row.rank, status: row.status })),
    );
    const text = found.length
      ? t("rankings.found", {
          q: data.query,
          where: found
            .map((f) => t("rankings.found_in", { formation: f.formation, rank: f.rank ?? "—", status: f.status }))
            .join("; "),
        })
      : t("rankings.not_found", { q: data.query });
    status.textContent = text;
    status.hidden = false;
    announce(text);
  } else {
    status.hidden = true;
  }
}

function setQueryInUrl(q) {
  const url = new URL(location.href);
  if (q) url.searchParams.set("q", q);
  else url.searchParams.delete("q");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}

async function load(q, { keepError = false } = {}) {
  if (!keepError) showError($("#search-error"), null);
  if (q && !checkSymbolMatches(q)) {
    showError($("#search-error"), t("rankings.search_mistyped", { q }));
    $("#search-q").focus();
    if (!$("#formations").children.length) load("", { keepError: true });
    return;
  }
  const path = q ? `${API}?q=${encodeURIComponent(q)}` : API;
  let data;
  try {
    data = await api("GET", path);
  } catch (error) {
    if (q && error instanceof ApiError && (error.status === 400 || error.status === 422)) {
      // The API explains a mistyped pseudonym; say it in the page's language.
      showError($("#search-error"), t("rankings.search_invalid", { q }));
      $("#search-q").focus();
      // Arriving with a mistyped ?q=: show the whole ranking under the message.
      if (!$("#formations").children.length) load("", { keepError: true });
      return;
    }
    if (error instanceof ApiError && error.status === 404) {
      fill(root, { "exam-title": exam, "exam-sub": "" });
      showError($("#rankings-error"), t("rankings.not_published"));
      $("#formations").replaceChildren();
      $("#csv-link").hidden = true;
      $("#search-form").hidden = true;
      return;
    }
    showError($("#rankings-error"), errorText(error, "rankings.error"));
    return;
  }
  showError($("#rankings-error"), null);
  $("#search-clear").hidden = !q;
  setQueryInUrl(q);
  render(data);
}

$("#search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const q = $("#search-q").value.trim();
  load(q);
});
$("#search-clear").addEventListener("click", () => {
  $("#search-q").value = "";
  load("");
  $("#search-q").focus();
});

const initial = new URLSearchParams(location.search).get("q") ?? "";
$("#search-q").value = initial;
load(initial.trim());
