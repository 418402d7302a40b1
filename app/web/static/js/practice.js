// The practice (simulasi) pages: the public list of practice exams and, after finishing, the
// review (score, keys or TKP points, explanations). A start gets an ordinary candidate token and
// hands over to the candidate page, which runs the practice attempt exactly like a live one.

import { $, ApiError, api, el, errorText, fill, formatScore, showError, t } from "./common.js";
import { ruleRows, sectionRows, verdictText } from "./results.js";

// The candidate page's keys: the token it reads and the mark that this tab sits a practice.
const TOKEN_KEY = "ujian.candidate.token";
const PRACTICE_KEY = "ujian.practice";

const page = $("#practice");

// --------------------------------------------------------------------------------------------
// The list

function examCard(exam) {
  const button = el("button", {
    type: "button",
    className: "button primary",
    textContent: t("simulasi.start"),
    "data-exam": exam.code,
  });
  button.addEventListener("click", () => start(exam, button));
  return el(
    "li",
    { className: "card practice-exam", "data-code": exam.code },
    el("h2", { textContent: exam.title }),
    el(
      "p",
      { className: "practice-facts" },
      t("simulasi.facts", { minutes: exam.duration_minutes, items: exam.items }),
    ),
    el(
      "ul",
      { className: "practice-sections" },
      ...exam.sections.map((s) => el("li", { textContent: t("simulasi.section", { name: s.name, items: s.items }) })),
    ),
    button,
  );
}

async function start(exam, button) {
  const errorNode = $("#practice-error");
  showError(errorNode, null);
  button.disabled = true;
  try {
    const started = await api("POST", `/api/v1/practice/exams/${encodeURIComponent(exam.code)}/start`);
    sessionStorage.setItem(TOKEN_KEY, started.access_token);
    sessionStorage.setItem(PRACTICE_KEY, String(started.attempt_id));
    window.location.assign("/");
  } catch (error) {
    if (error instanceof ApiError && error.error === "TooManyRequests") {
      showError(errorNode, t("simulasi.error.TooManyRequests", { seconds: error.body?.retry_after ?? 60 }));
    } else {
      showError(errorNode, errorText(error, "simulasi.error"));
    }
    button.disabled = false;
  }
}

async function showList() {
  try {
    const { exams } = await api("GET", "/api/v1/practice/exams");
    $("#practice-exams").replaceChildren(...exams.map(examCard));
    $("#practice-empty").hidden = exams.length > 0;
  } catch (error) {
    showError($("#practice-error"), errorText(error, "simulasi.error"));
  } finally {
    $("#practice-loading").hidden = true;
  }
}

// --------------------------------------------------------------------------------------------
// The review

function optionRow(option, item) {
  const chosen = option.id === item.answer;
  const marks = [];
  if (option.points !== null) marks.push(t("simulasi.points", { points: formatScore(option.points) }));
  if (option.is_key) marks.push(t("simulasi.key_mark"));
  if (chosen) marks.push(t("simulasi.your_mark"));
  const text = el("span", { className: "option-text" });
  text.innerHTML = option.text; // sanitized when the bank was imported, as on the exam screen
  return el(
    "li",
    { className: "review-option", "data-key": String(option.is_key), "data-chosen": String(chosen) },
    el("span", { className: "option-letter", textContent: option.id }),
    text,
    marks.length ? el("span", { className: "review-marks", textContent: ` (${marks.join(", ")})` }) : null,
  );
}

function outcomeText(item) {
  if (item.answer === null) return t("simulasi.outcome_blank", { points: formatScore(item.points) });
  if (item.correct === null) return t("simulasi.outcome_points", { points: formatScore(item.points) });
  return item.correct
    ? t("simulasi.outcome_correct", { points: formatScore(item.points) })
    : t("simulasi.outcome_wrong", { points: formatScore(item.points) });
}

function reviewItem(item) {
  const stem = el("div", { className: "stem" });
  stem.innerHTML = item.stem;
  const explanation = el("div", { className: "explanation-text" });
  if (item.explanation) explanation.innerHTML = item.explanation;
  else explanation.textContent = t("simulasi.no_explanation");
  return el(
    "li",
    { className: "card review-item", "data-position": item.position, "data-correct": String(item.correct) },
    el("h3", { textContent: t("simulasi.item_heading", { position: item.position, section: item.section }) }),
    stem,
    el("ol", { className: "review-options" }, ...item.options.map((o) => optionRow(o, item))),
    el(
      "p",
      { className: "review-answer" },
      t("simulasi.your_answer", { answer: item.answer ?? t("simulasi.blank") }),
      item.key ? ` · ${t("simulasi.key", { key: item.key })}` : "",
      ` · ${outcomeText(item)}`,
    ),
    el("section", { className: "explanation" }, el("h4", { textContent: t("simulasi.explanation") }), explanation),
  );
}

async function showReview() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const errorNode = $("#review-error");
  try {
    if (!token) {
      showError(errorNode, t("simulasi.no_attempt"));
      return;
    }
    const review = await api("GET", "/api/v1/practice/attempts/current/review", { token });
    fill(page, { "exam-title": review.exam_title });
    const score = review.score;
    const verdict = $("#review-verdict");
    verdict.textContent = verdictText(score);
    verdict.dataset.passed = String(score.passed);
    $("#review-sections").replaceChildren(...sectionRows(score));
    $("#review-total").textContent = formatScore(score.total);
    $("#review-max-total").textContent = formatScore(score.max_total);
    $("#review-rules").replaceChildren(...ruleRows(score));
    $("#review-items").replaceChildren(...review.items.map(reviewItem));
    $("#review-body").hidden = false;
  } catch (error) {
    showError(errorNode, errorText(error, "simulasi.review_error"));
  } finally {
    $("#review-loading").hidden = true;
  }
}

if (page.dataset.view === "review") showReview();
else showList();
