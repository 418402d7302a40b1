// Key correction: correct an item's key, set its option points or annul it; the dry run shows
// every changed attempt and every ranking change, and only an explicit, confirmed "Terapkan"
// applies exactly what was simulated (rescoring, audit and new ranking snapshots).

import { $, $$, ApiError, announce, el, errorText, formatScore, showError, showView, t } from "./common.js";
import { committeeSession } from "./staff.js";

const views = { login: $("#view-login"), correction: $("#view-correction") };
const session = committeeSession(views, ready);
const form = $("#correction-form");
const dialog = $("#apply-dialog");
const DEFAULT_LABELS = ["A", "B", "C", "D", "E"];
const MIN_REASON = 3;
const SHOWN = 200; // rows listed per table; the counts stay exact
const FLAGS = ["likely_miskey", "weights_reversed", "low_discrimination", "too_hard", "too_easy", "rare_option", "few_responses"];

const state = {
  analyses: new Map(), // exam code -> item analysis JSON (or null when there is none)
  item: null, // the item's statistics, when the analysis has them
  planned: null, // {exam, body} of the dry run on screen
  applied: false,
};

const query = new URLSearchParams(location.search);

// --------------------------------------------------------------------------------------------
// The form

function kind() {
  return form.elements.kind.value;
}

function labels() {
  return state.item?.options.map((option) => option.label) ?? DEFAULT_LABELS;
}

/** The label of the option with original index `index` (the report's suggested key). */
function labelOf(index) {
  if (!state.item) return DEFAULT_LABELS[index] ?? null;
  return state.item.options.find((option) => option.index === index)?.label ?? null;
}

function showKindFields() {
  for (const name of ["correct_key", "set_points", "annul"]) $(`#fields-${name}`).hidden = kind() !== name;
}

function fillKeyChoices(selected) {
  const select = $("#correction-key");
  const current = selected ?? select.value;
  const key = state.item?.options.find((option) => option.is_key)?.label;
  select.replaceChildren(
    ...labels().map((label) =>
      el("option", {
        value: label,
        textContent: label === key ? t("corrections.current_key", { label }) : label,
        selected: label === current,
      }),
    ),
  );
}

function fillPointInputs() {
  const points = state.item?.options.map((option) => option.points);
  $("#points-inputs").replaceChildren(
    ...labels().map((label, index) => {
      const id = `points-${label}`;
      return el(
        "div",
        { className: "field points-field" },
        el("label", { htmlFor: id, textContent: t("corrections.points_for", { label }) }),
        el("input", { id, type: "number", step: "any", inputMode: "decimal", value: String(points?.[index] ?? 0), "data-label": label }),
      );
    }),
  );
}

function percent(share) {
  return share === null || share === undefined ? "—" : `${Math.round(share * 100)} %`;
}

function showItemInfo() {
  const info = $("#item-info");
  const item = state.item;
  if (!item) {
    info.hidden = true;
    info.replaceChildren();
    return;
  }
  const key = item.options.find((option) => option.is_key);
  const flags = item.flags.filter((flag) => flag.code !== "few_responses");
  const parts = [
    el("p", {}, el("strong", { textContent: item.label }), ` · ${item.section} · `,
      key ? t("corrections.key_now", { label: key.label }) : t("corrections.weighted"),
      ` · p = ${item.p_value === null ? "—" : formatScore(item.p_value)}`),
    el("p", { className: "muted", textContent: t("corrections.chosen_by", {
      shares: item.options.map((option) => `${option.label} ${percent(option.share)}`).join(", "),
      n: item.exposure_count,
    }) }),
    flags.length
      ? el("ul", { className: "flag-list" }, ...flags.map((flag) =>
          el("li", {}, el("span", { className: "badge warn", textContent: FLAGS.includes(flag.code) ? t(`flag.${flag.code}`) : flag.code }),
            flag.suggested_key !== null && flag.suggested_key !== undefined
              ? ` ${t("corrections.suggested", { label: labelOf(flag.suggested_key) ?? "?" })}`
              : "")))
      : null,
  ];
  info.replaceChildren(...parts.filter(Boolean));
  info.hidden = false;
}

async function analysisOf(exam) {
  if (!state.analyses.has(exam)) {
    try {
      state.analyses.set(exam, await session.call("GET", `/api/v1/exams/${encodeURIComponent(exam)}/item-analysis`));
    } catch {
      // No published version or no finished attempts yet: the form works without statistics.
      state.analyses.set(exam, null);
    }
  }
  return state.analyses.get(exam);
}

/** Look the item up in the exam's analysis (its options, key and flags), if there is one. */
async function loadItem(suggestedIndex = null) {
  const exam = form.elements.exam.value.trim();
  const code = $("#correction-item").value.trim();
  const analysis = exam && code ? await analysisOf(exam) : null;
  const versions = (analysis?.items ?? []).filter((item) => item.code === code);
  state.item = versions.sort((a, b) => (b.version ?? 0) - (a.version ?? 0))[0] ?? null;
  const suggested = suggestedIndex === null ? null : labelOf(suggestedIndex);
  fillKeyChoices(suggested);
  fillPointInputs();
  showItemInfo();
}

function body() {
  const request = {
    item_code: $("#correction-item").value.trim(),
    kind: kind(),
    reason: form.elements.reason.value.trim(),
  };
  if (request.kind === "correct_key") request.key = $("#correction-key").value;
  if (request.kind === "set_points") request.points = $$("#points-inputs input").map((input) => Number(input.value));
  if (request.kind === "annul") request.mode = form.elements.mode.value;
  return request;
}

function invalid(request, exam) {
  if (!exam) return ["corrections.exam_missing", "#correction-exam"];
  if (!request.item_code) return ["corrections.item_missing", "#correction-item"];
  if (request.kind === "set_points" && request.points.some((value) => !Number.isFinite(value))) {
    return ["corrections.points_invalid", "#points-inputs input"];
  }
  if (request.reason.length < MIN_REASON) return ["corrections.reason_required", "#correction-reason"];
  return null;
}

// Anything changed after a dry run: the plan on screen no longer matches; applying needs a new run.
function markStale() {
  if (!state.planned || state.applied) return;
  $("#plan-stale").hidden = false;
  $("#apply-button").disabled = true;
}

form.addEventListener("input", markStale);
form.addEventListener("change", (event) => {
  markStale();
  if (event.target.name === "kind") showKindFields();
  if (event.target.name === "exam" || event.target.name === "item_code") loadItem();
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const exam = form.elements.exam.value.trim();
  const request = body();
  const problem = invalid(request, exam);
  const errorNode = $("#correction-error");
  if (problem) {
    showError(errorNode, t(problem[0]));
    $(problem[1])?.focus();
    return;
  }
  showError(errorNode, null);
  const button = $("#dry-run-button");
  button.disabled = true;
  try {
    const plan = await session.call("POST", `/api/v1/exams/${encodeURIComponent(exam)}/corrections/dry-run`, request);
    state.planned = { exam, body: request };
    state.applied = false;
    showPlan(plan);
    announce(t("corrections.dry_run_done", { changed: plan.attempts_changed, passes: plan.pass_changes }));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) showError(errorNode, errorText(error, "corrections.error"));
  } finally {
    button.disabled = false;
  }
});

// --------------------------------------------------------------------------------------------
// The plan: changed attempts and ranking changes

function actionText(action) {
  if (action.kind === "correct_key") return t("corrections.action.correct_key", { key: action.key });
  if (action.kind === "set_points") return t("corrections.action.set_points", { points: action.points.map(formatScore).join(" / ") });
  return t(`corrections.action.annul.${action.mode}`);
}

function passText(passed) {
  return passed ? t("result.rule_passed") : t("result.rule_failed");
}

function sectionChanges(attempt) {
  return Object.keys(attempt.new_sections)
    .filter((code) => attempt.old_sections[code] !== attempt.new_sections[code])
    .map((code) => `${code} ${formatScore(attempt.old_sections[code] ?? 0)} → ${formatScore(attempt.new_sections[code])}`)
    .join(", ");
}

function attemptRow(attempt) {
  const changed = attempt.old_passed !== attempt.new_passed;
  return el(
    "tr",
    { "data-pseudonym": attempt.pseudonym, "data-pass-change": String(changed) },
    el("th", { scope: "row", className: "mono", textContent: attempt.pseudonym }),
    el("td", { className: "num", textContent: formatScore(attempt.old_total) }),
    el("td", { className: "num", textContent: formatScore(attempt.new_total) }),
    el("td", { textContent: sectionChanges(attempt) || "—" }),
    el(
      "td",
      {},
      changed
        ? el("span", {
            className: `badge ${attempt.new_passed ? "pass" : "fail"}`,
            textContent: `${passText(attempt.old_passed)} → ${passText(attempt.new_passed)}`,
          })
        : passText(attempt.new_passed),
    ),
  );
}

function moveText(before, after) {
  const show = (value) => value ?? "—";
  return before === after ? String(show(after)) : `${show(before)} → ${show(after)}`;
}

function rankingTable(formation, changes) {
  // Status changes first: they are what the committee must look at.
  const sorted = [...changes].sort(
    (a, b) => Number(b.old_status !== b.new_status) - Number(a.old_status !== a.new_status),
  );
  const shown = sorted.slice(0, SHOWN);
  return el(
    "section",
    { className: "formation-changes", "data-formation": formation },
    el("h4", { textContent: t("corrections.formation_changes", { formation, count: changes.length }) }),
    changes.length
      ? el(
          "div",
          { className: "table-scroll" },
          el(
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
                el("th", { scope: "col", textContent: t("rankings.why") }),
              ),
            ),
            el(
              "tbody",
              {},
              ...shown.map((change) =>
                el(
                  "tr",
                  { "data-pseudonym": change.pseudonym, "data-status-change": String(change.old_status !== change.new_status) },
                  el("th", { scope: "row", className: "mono", textContent: change.pseudonym }),
                  el("td", { textContent: moveText(change.old_rank, change.new_rank) }),
                  el("td", { className: "status-move", textContent: moveText(change.old_status, change.new_status) }),
                  el("td", { className: "reason", textContent: change.reason }),
                ),
              ),
            ),
          ),
        )
      : el("p", { className: "muted", textContent: t("corrections.no_ranking_changes") }),
    changes.length > SHOWN ? el("p", { className: "muted", textContent: t("corrections.more", { count: changes.length - SHOWN }) }) : null,
  );
}

function showPlan(plan) {
  $("#plan-heading").textContent = plan.applied ? t("corrections.applied_heading") : t("corrections.plan_heading");
  $("#plan-summary").textContent = t("corrections.summary", {
    item: plan.item,
    exam: `${plan.exam} v${plan.exam_version}`,
    action: actionText(plan.action),
    reason: plan.reason,
  });
  $("#plan-counts").replaceChildren(
    ...[
      ["attempts_with_item", plan.attempts_with_item],
      ["attempts_changed", plan.attempts_changed],
      ["pass_changes", plan.pass_changes],
    ].map(([name, value]) =>
      el("li", { "data-count": name }, el("span", { className: "count-label", textContent: t(`corrections.count.${name}`) }), el("strong", { textContent: value })),
    ),
  );
  const attempts = [...plan.attempts].sort(
    (a, b) => Number(b.old_passed !== b.new_passed) - Number(a.old_passed !== a.new_passed),
  );
  $("#attempts-body").replaceChildren(...attempts.slice(0, SHOWN).map(attemptRow));
  $("#attempts-table").hidden = attempts.length === 0;
  $("#attempts-empty").hidden = attempts.length > 0;
  const more = $("#attempts-more");
  more.hidden = attempts.length <= SHOWN;
  more.textContent = t("corrections.more", { count: attempts.length - SHOWN });
  const formations = Object.entries(plan.ranking_changes ?? {});
  $("#ranking-changes").replaceChildren(
    ...(formations.length
      ? formations.map(([formation, changes]) => rankingTable(formation, changes))
      : [el("p", { className: "muted", textContent: t("corrections.no_rankings") })]),
  );
  $("#plan-stale").hidden = true;
  $("#apply-box").hidden = plan.applied;
  $("#apply-button").disabled = false;
  const applied = $("#applied-box");
  applied.hidden = !plan.applied;
  if (plan.applied) {
    $("#applied-text").textContent = t("corrections.applied", { revision: plan.scoring_revision });
    $("#applied-link").href = `/rankings/${encodeURIComponent(plan.exam)}`;
  }
  $("#plan").hidden = false;
  $("#plan-heading").focus();
}

// --------------------------------------------------------------------------------------------
// Applying: a confirmation, then exactly the simulated request

$("#apply-button").addEventListener("click", () => {
  if (!state.planned) return;
  const counts = $$("#plan-counts strong").map((node) => node.textContent);
  $("#apply-text").textContent = t("corrections.confirm_text", {
    item: state.planned.body.item_code,
    changed: counts[1] ?? "0",
    passes: counts[2] ?? "0",
  });
  showError($("#apply-error"), null);
  dialog.showModal();
  $("#apply-cancel").focus();
});

$("#apply-cancel").addEventListener("click", () => dialog.close());

$("#apply-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const planned = state.planned;
  const button = $("#apply-confirm");
  button.disabled = true;
  try {
    const plan = await session.call("POST", `/api/v1/exams/${encodeURIComponent(planned.exam)}/corrections`, planned.body);
    state.applied = true;
    state.analyses.delete(planned.exam);
    dialog.close();
    showPlan(plan);
    announce(t("corrections.applied", { revision: plan.scoring_revision }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      dialog.close();
    } else {
      showError($("#apply-error"), errorText(error, "corrections.error"));
    }
  } finally {
    button.disabled = false;
  }
});

// --------------------------------------------------------------------------------------------

let prefilled = false;

async function ready() {
  showView(views, "correction");
  if (prefilled) return;
  prefilled = true;
  form.elements.exam.value = query.get("exam") ?? "";
  $("#correction-item").value = query.get("item") ?? "";
  const index = Number.parseInt(query.get("key_index") ?? "", 10);
  fillKeyChoices(Number.isInteger(index) ? DEFAULT_LABELS[index] : null);
  fillPointInputs();
  showKindFields();
  await loadItem(Number.isInteger(index) ? index : null);
  ($("#correction-item").value ? $("#correction-reason") : $("#correction-exam")).focus();
}

session.start();
