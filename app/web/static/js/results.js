// Rows of a result (sections and threshold rules), shared by the result screen and the slip.

import { el, formatScore, t } from "./common.js";

function ruleLabel(label) {
  return label === "total" ? t("result.total") : label;
}

/** One row per section: name, score, maximum. */
export function sectionRows(result) {
  return result.sections.map((section) =>
    el(
      "tr",
      {},
      el("th", { scope: "row", textContent: section.name }),
      el("td", { className: "num", textContent: formatScore(section.score) }),
      el("td", { className: "num", textContent: formatScore(section.max) }),
    ),
  );
}

/** One row per threshold rule (nilai ambang batas): value, minimum, passed or not. */
export function ruleRows(result) {
  return result.rules.map((rule) =>
    el(
      "tr",
      { "data-passed": String(rule.passed) },
      el("th", { scope: "row", textContent: ruleLabel(rule.label) }),
      el("td", { className: "num", textContent: formatScore(rule.value) }),
      el("td", { className: "num", textContent: `≥ ${formatScore(rule.minimum)}` }),
      el(
        "td",
        {},
        el("span", {
          className: `badge ${rule.passed ? "pass" : "fail"}`,
          textContent: rule.passed ? t("result.rule_passed") : t("result.rule_failed"),
        }),
      ),
    ),
  );
}

/** The overall verdict text. */
export function verdictText(result) {
  return result.passed ? t("result.passed") : t("result.failed");
}
