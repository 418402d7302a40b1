// Slip verification (the slip's QR code links here): whether the code was issued by this server
// for exactly the scores on file, and the valid scores on file (by pseudonym, never a name).

import { $, ApiError, api, errorText, fill, formatDateTime, formatScore, showError, t } from "./common.js";
import { ruleRows, sectionRows, verdictText } from "./results.js";

const root = $("#verify");
const code = root.dataset.code.trim();

/** Why the slip is (not) authentic, in the page's language. */
function reasonKey(check) {
  if (check.authentic) return "verify.reason.authentic";
  if (check.slip) return "verify.reason.altered";
  const [serial, tag] = code.split("-", 2);
  return serial && tag ? "verify.reason.unknown" : "verify.reason.malformed";
}

function showVerdict(check) {
  const verdict = $("#verdict");
  verdict.dataset.authentic = String(check.authentic);
  $(".verify-mark", verdict).textContent = check.authentic ? "✓" : "✕";
  $("#verdict-title").textContent = check.authentic ? t("verify.authentic") : t("verify.not_authentic");
  $("#verdict-reason").textContent = t(reasonKey(check));
  $("#verdict-code").textContent = code;
  verdict.hidden = false;
}

function showOnFile(slip) {
  const section = $("#on-file");
  if (!slip) {
    section.hidden = true;
    return;
  }
  fill(section, {
    exam: [slip.exam.title, slip.exam.code].filter(Boolean).join(" · "),
    pseudonym: slip.pseudonym,
    "computed-at": slip.computed_at ? formatDateTime(slip.computed_at) : "—",
  });
  $("#verify-sections").replaceChildren(...sectionRows(slip));
  $("#verify-total").textContent = formatScore(slip.total);
  $("#verify-max-total").textContent = slip.max_total === null ? "—" : formatScore(slip.max_total);
  $("#verify-rules").replaceChildren(...ruleRows(slip));
  $("#verify-rules-table").hidden = slip.rules.length === 0;
  const verdict = $("#verify-verdict");
  verdict.textContent = verdictText(slip);
  verdict.dataset.passed = String(slip.passed);
  section.hidden = false;
}

async function check() {
  $("#verify-loading").hidden = false;
  try {
    const result = await api("GET", `/api/v1/public/slips/${encodeURIComponent(code)}`);
    showVerdict(result);
    showOnFile(result.slip);
    document.title = `${result.authentic ? t("verify.authentic") : t("verify.not_authentic")} · Ujian`;
    $("#verify-form-label").textContent = t("verify.form_label_other");
  } catch (error) {
    const text =
      error instanceof ApiError && error.status === 404 ? t("verify.reason.unknown") : errorText(error, "verify.error");
    showError($("#verify-error"), text);
  } finally {
    $("#verify-loading").hidden = true;
    $("#verify-heading").focus();
  }
}

$("#verify-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const typed = $("#verify-code").value.trim().toUpperCase();
  if (!typed) {
    showError($("#verify-form-error"), t("verify.code_missing"));
    $("#verify-code").focus();
    return;
  }
  location.assign(`/verify/${encodeURIComponent(typed)}`);
});

if (code) {
  check();
} else {
  $("#verify-code").focus();
}
