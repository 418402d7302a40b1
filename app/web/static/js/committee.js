// The committee console: the exams, publishing their rankings, and the item analysis report
// shown in a sandboxed frame whose review links open the key-correction page.

import { $, ApiError, announce, el, errorText, formatDateTime, showError, showView, t } from "./common.js";
import { committeeSession } from "./staff.js";

const views = { login: $("#view-login"), exams: $("#view-exams"), analysis: $("#view-analysis") };
const session = committeeSession(views, route);
let reportUrl = null; // the object URL of the downloadable report

function statusBadge(status) {
  const known = ["draft", "published"].includes(status);
  return el("span", {
    className: "badge",
    "data-status": status,
    textContent: known ? t(`exam_status.${status}`) : status,
  });
}

function failed(error) {
  return error instanceof ApiError && error.status === 401;
}

// --------------------------------------------------------------------------------------------
// Exams and publishing rankings

function examActions(exam) {
  if (exam.status !== "published") return [el("span", { className: "muted", textContent: t("committee.not_published") })];
  const publish = el("button", {
    type: "button",
    className: "button small primary",
    textContent: t("committee.publish_rankings"),
    "aria-label": t("committee.publish_rankings_for", { code: exam.code }),
    "data-publish": exam.code,
  });
  publish.addEventListener("click", () => publishRankings(exam.code, publish));
  return [
    publish,
    el("a", {
      className: "button small",
      href: `#analisis-${encodeURIComponent(exam.code)}`,
      textContent: t("committee.analysis"),
      "aria-label": t("committee.analysis_for", { code: exam.code }),
      "data-analysis": exam.code,
    }),
    el("a", {
      className: "button small",
      href: `/rankings/${encodeURIComponent(exam.code)}`,
      textContent: t("committee.public_ranking"),
      "aria-label": t("committee.public_ranking_for", { code: exam.code }),
    }),
  ];
}

async function showExams() {
  let exams;
  try {
    exams = await session.call("GET", "/api/v1/exams");
  } catch (error) {
    if (!failed(error)) {
      showView(views, "exams");
      showError($("#exams-error"), errorText(error, "committee.error"));
    }
    return;
  }
  showError($("#exams-error"), null);
  $("#exams-empty").hidden = exams.length > 0;
  $("#exams-table").hidden = exams.length === 0;
  $("#exams-body").replaceChildren(
    ...exams.map((exam) =>
      el(
        "tr",
        { "data-exam": exam.code },
        el("th", { scope: "row", className: "mono", textContent: exam.code }),
        el("td", {}, exam.title, exam.published_at
          ? el("span", { className: "cell-sub", textContent: t("committee.published_at", { time: formatDateTime(exam.published_at) }) })
          : null),
        el("td", { className: "num", textContent: exam.version }),
        el("td", {}, statusBadge(exam.status)),
        el("td", { className: "num", textContent: exam.scoring_revision }),
        el("td", {}, el("div", { className: "row-actions" }, ...examActions(exam))),
      ),
    ),
  );
  showView(views, "exams");
}

async function publishRankings(code, button) {
  button.disabled = true;
  showError($("#exams-error"), null);
  try {
    const outcome = await session.call("POST", `/api/v1/exams/${encodeURIComponent(code)}/rankings`);
    $("#publish-body").replaceChildren(
      ...outcome.map((entry) =>
        el(
          "tr",
          { "data-formation": entry.formation, "data-outcome": entry.outcome },
          el("th", { scope: "row", textContent: entry.formation }),
          el("td", { textContent: t(`publish_outcome.${entry.outcome}`) }),
          el("td", { className: "num", textContent: entry.number ?? "—" }),
          el("td", { className: "num", textContent: entry.changes }),
          el("td", {}, entry.content_hash
            ? el("code", { className: "mono", title: entry.content_hash, textContent: `${entry.content_hash.slice(0, 12)}…` })
            : "—"),
        ),
      ),
    );
    const published = outcome.filter((entry) => entry.outcome === "published").length;
    $("#publish-heading").textContent = t("committee.published_heading", { code });
    $("#publish-link").href = `/rankings/${encodeURIComponent(code)}`;
    $("#publish-outcome").hidden = false;
    $("#publish-heading").focus();
    announce(t("committee.published_announce", { published, unchanged: outcome.length - published }));
  } catch (error) {
    if (!failed(error)) showError($("#exams-error"), errorText(error, "committee.error"));
  } finally {
    button.disabled = false;
  }
}

// --------------------------------------------------------------------------------------------
// Item analysis: the report is self-contained HTML without scripts, shown in a sandboxed frame.
// The frame may navigate the page only when a link in it is clicked, so its review links open
// the key-correction page here; in-page links stay in the frame.

function framedReport(html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  for (const link of doc.querySelectorAll("a[href]")) {
    const href = link.getAttribute("href");
    if (href.startsWith("#")) {
      // A frame made from srcdoc resolves "#x" against this page's address; keep it inside.
      link.setAttribute("href", `about:srcdoc${href}`);
    } else {
      const url = new URL(href, location.origin);
      if (url.origin !== location.origin) {
        link.removeAttribute("href");
        continue;
      }
      link.setAttribute("href", url.href);
      link.setAttribute("target", "_top");
    }
  }
  return `<!DOCTYPE html>\n${doc.documentElement.outerHTML}`;
}

async function showAnalysis(code) {
  const frame = $("#report-frame");
  $("#analysis-heading").textContent = t("committee.analysis_of", { code });
  $("#corrections-link").href = `/committee/corrections?exam=${encodeURIComponent(code)}`;
  $("#report-download").hidden = true;
  frame.hidden = true;
  showError($("#analysis-error"), null);
  $("#analysis-loading").hidden = false;
  showView(views, "analysis");
  let html;
  try {
    html = await session.text(`/api/v1/exams/${encodeURIComponent(code)}/item-report`);
  } catch (error) {
    if (!failed(error)) showError($("#analysis-error"), errorText(error, "committee.analysis_error"));
    return;
  } finally {
    $("#analysis-loading").hidden = true;
  }
  if (reportUrl) URL.revokeObjectURL(reportUrl);
  reportUrl = URL.createObjectURL(new Blob([html], { type: "text/html" }));
  const download = $("#report-download");
  download.href = reportUrl;
  download.download = `analisis-butir-${code}.html`;
  download.hidden = false;
  frame.srcdoc = framedReport(html);
  frame.hidden = false;
  announce(t("committee.analysis_ready", { code }));
}

// --------------------------------------------------------------------------------------------

function route() {
  if (!session.token) return session.showLogin();
  const match = location.hash.match(/^#analisis-(.+)$/);
  return match ? showAnalysis(decodeURIComponent(match[1])) : showExams();
}

window.addEventListener("hashchange", route);
$("#back-to-exams").addEventListener("click", (event) => {
  event.preventDefault();
  history.pushState(null, "", location.pathname + location.search);
  route();
});

session.start();
