// Integrity report: attempts ranked by evidence, each flag with its reason and the replay; the
// committee records a decision per attempt (nothing is decided automatically); exports.

import { $, announce, el, errorText, showError, showView, t, language } from "./common.js";
import { committeeSession } from "./staff.js";

const views = { login: $("#view-login"), integrity: $("#view-integrity") };
const session = committeeSession(views, ready);
const form = $("#integrity-form");
const DECISIONS = ["cleared", "referred", "disqualified_by_committee"];
const query = new URLSearchParams(location.search);

/** Trusted SVG from the server's plotting module, parsed as SVG (never run as HTML). */
function svgNode(markup) {
  if (!markup) return null;
  const parsed = new DOMParser().parseFromString(markup, "image/svg+xml");
  return document.importNode(parsed.documentElement, true);
}

function params() {
  const exam = form.elements.exam.value.trim().toUpperCase();
  const search = new URLSearchParams({ row_length: form.elements.row_length.value.trim() || "10", lang: language });
  const sitting = form.elements.sitting.value.trim();
  if (sitting) search.set("sitting", sitting);
  return { exam, search };
}

function decisionText(decision) {
  if (!decision) return t("integrity.undecided");
  return `${t(`integrity.decision.${decision.decision}`)} – ${decision.reason} (${decision.actor})`;
}

function decisionForm(entry, status) {
  const id = `decision-${entry.attempt_id}`;
  const select = el(
    "select",
    { id, name: "decision" },
    ...DECISIONS.map((value) => el("option", { value, textContent: t(`integrity.decision.${value}`) })),
  );
  const reason = el("input", { id: `${id}-reason`, name: "reason", maxLength: 2000, required: true });
  const error = el("p", { className: "form-error", role: "alert", hidden: true });
  const node = el(
    "form",
    { className: "form decision-form", "data-attempt": entry.attempt_id },
    el("div", { className: "field" }, el("label", { htmlFor: id, textContent: t("integrity.decision") }), select),
    el("div", { className: "field" }, el("label", { htmlFor: `${id}-reason`, textContent: t("integrity.decision_reason") }), reason),
    error,
    el("button", { type: "submit", className: "button", textContent: t("integrity.record") }),
  );
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (reason.value.trim().length < 3) {
      showError(error, t("integrity.decision_reason"));
      reason.focus();
      return;
    }
    try {
      const saved = await session.call("POST", `/api/v1/attempts/${entry.attempt_id}/integrity-decision`, {
        decision: select.value,
        reason: reason.value.trim(),
      });
      status.textContent = decisionText(saved);
      showError(error, null);
      announce(t("integrity.recorded"));
    } catch (failure) {
      showError(error, errorText(failure, "integrity.error"));
    }
  });
  return node;
}

function attemptItem(entry) {
  const status = el("p", { className: "decision", "data-field": "decision", textContent: decisionText(entry.decision) });
  const seat = entry.seat === null ? "–" : String(entry.seat);
  return el(
    "li",
    { className: "integrity-attempt", "data-attempt": entry.attempt_id },
    el("h3", { textContent: `${entry.rank}. ${entry.nomor_peserta} – ${entry.name}` }),
    el("p", { textContent: `${t("integrity.seat")}: ${seat} · ${entry.sitting_name} · ${t("integrity.strength")}: ${entry.strength.toFixed(1)}` }),
    el(
      "ul",
      { className: "flags" },
      ...entry.flags.map((flag) =>
        el("li", { "data-flag": flag.code, textContent: language === "en" ? flag.reason_en : flag.reason_id }),
      ),
    ),
    el("p", {}, el("a", { href: entry.replay_url, textContent: t("integrity.replay") })),
    svgNode(entry.time_strip_svg),
    status,
    decisionForm(entry, status),
  );
}

function comparabilityTable(comparison) {
  const fixed = (value) => value.toFixed(1);
  const pct = (value) => `${Math.round(value * 100)} %`;
  return el(
    "div",
    {},
    el("h3", { textContent: `${t("integrity.comparability")}: ${comparison.by}` }),
    el(
      "table",
      { className: "table compact" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ...["integrity.group", null, "integrity.mean", "integrity.pass_rate"].map((key) =>
            el("th", { scope: "col", textContent: key ? t(key) : "n" }),
          ),
        ),
      ),
      el(
        "tbody",
        {},
        ...comparison.groups.map((g) =>
          el(
            "tr",
            {},
            el("td", { textContent: g.group }),
            el("td", { textContent: String(g.n) }),
            el("td", { textContent: `${fixed(g.mean)} (${fixed(g.mean_low)}–${fixed(g.mean_high)})` }),
            el("td", { textContent: `${pct(g.pass_rate)} (${pct(g.pass_low)}–${pct(g.pass_high)})` }),
          ),
        ),
      ),
    ),
    el("p", {
      textContent: t("integrity.equality", {
        anova: comparison.anova_p.toPrecision(2),
        kw: comparison.kruskal_wallis_p.toPrecision(2),
        pass: comparison.pass_rates_p === null ? "–" : comparison.pass_rates_p.toPrecision(2),
      }),
    }),
  );
}

function formsTable(forms) {
  if (forms.length === 0) return null;
  const keys = ["integrity.form", "integrity.form_attempts", "integrity.form_sites", null, "integrity.form_max", "integrity.form_mean"];
  return el(
    "div",
    {},
    el("h3", { textContent: t("integrity.forms_heading") }),
    el("p", { textContent: t("integrity.forms_lead") }),
    el(
      "table",
      { className: "table compact" },
      el("thead", {}, el("tr", {}, ...keys.map((key) => el("th", { scope: "col", textContent: key ? t(key) : "n" })))),
      el(
        "tbody",
        {},
        ...forms.map((f) =>
          el(
            "tr",
            { "data-form": f.form },
            ...[f.form, String(f.attempts), f.sites.join(", "), String(f.items), f.max_abs_difference.toFixed(2), f.mean_difference.toFixed(2)].map(
              (text) => el("td", { textContent: text }),
            ),
          ),
        ),
      ),
    ),
  );
}

async function show() {
  const { exam, search } = params();
  const error = $("#integrity-error");
  if (!exam) {
    showError(error, t("integrity.exam"));
    form.elements.exam.focus();
    return;
  }
  try {
    const report = await session.call("GET", `/api/v1/exams/${encodeURIComponent(exam)}/integrity?${search}`);
    showError(error, null);
    $("#result-heading").textContent = `${report.exam_title} (${report.exam_code})`;
    $("#integrity-summary").textContent = t("integrity.analysed", {
      attempts: report.attempts_analysed,
      items: report.items,
      flagged: report.flagged.length,
    });
    $("#room-map").replaceChildren(...[svgNode(report.room_map_svg)].filter(Boolean));
    $("#integrity-none").hidden = report.flagged.length > 0;
    $("#integrity-list").replaceChildren(...report.flagged.map(attemptItem));
    $("#comparability").replaceChildren(...report.comparability.map(comparabilityTable));
    $("#forms").replaceChildren(...[formsTable(report.forms)].filter(Boolean));
    $("#integrity-result").hidden = false;
    $("#dif").hidden = false;
    $("#result-heading").focus();
  } catch (failure) {
    $("#integrity-result").hidden = true;
    showError(error, errorText(failure, "integrity.error"));
  }
}

async function download(format) {
  const { exam, search } = params();
  search.set("format", format);
  const response = await fetch(`/api/v1/exams/${encodeURIComponent(exam)}/integrity/export?${search}`, {
    headers: { Authorization: `Bearer ${session.token}` },
    cache: "no-store",
  });
  if (!response.ok) {
    showError($("#integrity-error"), t("integrity.error", { message: `HTTP ${response.status}` }));
    return;
  }
  const link = el("a", { href: URL.createObjectURL(await response.blob()), download: `integrity-${exam}.${format}` });
  document.body.append(link);
  link.click();
  link.remove();
}

async function showDif() {
  const { exam } = params();
  const group = $("#dif-group").value;
  const error = $("#dif-error");
  try {
    const dif = await session.call("GET", `/api/v1/exams/${encodeURIComponent(exam)}/dif?group=${group}`);
    showError(error, null);
    const sizes = Object.entries(dif.group_sizes)
      .map(([name, size]) => `${name} ${size}`)
      .join(", ");
    $("#dif-sizes").textContent = t("integrity.dif_sizes", { reference: dif.reference, sizes });
    $("#dif-small").hidden = dif.small_sample.length === 0;
    $("#dif-small").textContent = t("integrity.dif_small", { groups: dif.small_sample.join(", ") });
    $("#dif-none").hidden = dif.flagged.length > 0;
    $("#dif-table").hidden = dif.flagged.length === 0;
    $("#dif-body").replaceChildren(
      ...dif.flagged.map((item) =>
        el(
          "tr",
          { "data-item": item.code },
          el("td", { textContent: item.code }),
          el("td", { textContent: item.focal }),
          el("td", { className: "num", textContent: `${item.n_reference}/${item.n_focal}` }),
          el("td", { className: "num", textContent: item.delta === null ? "–" : item.delta.toFixed(2) }),
          el("td", { textContent: item.dif_class }),
          el("td", {}, el("a", { href: item.correction_url, textContent: t("integrity.dif_correct") })),
        ),
      ),
    );
  } catch (failure) {
    $("#dif-table").hidden = true;
    showError(error, errorText(failure, "integrity.error"));
  }
}

$("#dif-form").addEventListener("submit", (event) => {
  event.preventDefault();
  showDif();
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  show();
});
for (const button of document.querySelectorAll("[data-export]")) {
  button.addEventListener("click", () => download(button.dataset.export));
}

let prefilled = false;

function ready() {
  showView(views, "integrity");
  if (prefilled) return;
  prefilled = true;
  form.elements.exam.value = query.get("exam") ?? "";
  form.elements.sitting.value = query.get("sitting") ?? "";
  if (query.get("row_length")) form.elements.row_length.value = query.get("row_length");
  if (form.elements.exam.value) show();
  else form.elements.exam.focus();
}

session.start();
