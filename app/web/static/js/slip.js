// The printable result slip: exam, candidate, sections, total, each threshold rule, the
// pseudonym and the verification code with its QR code (checked at /verify/{code}).

import { $, ApiError, api, errorText, fill, formatDateTime, formatScore, t } from "./common.js";
import { ruleRows, sectionRows, verdictText } from "./results.js";

const TOKEN_KEY = "ujian.candidate.token";

function missing(text) {
  $("#slip-missing").hidden = false;
  if (text) $("#slip-missing-text").textContent = text;
  $("#slip-missing h1").focus();
}

function render(state) {
  const result = state.result;
  const slip = $("#slip");
  fill(slip, {
    "exam-title": state.exam.title,
    sitting: state.sitting.name,
    nomor: state.nomor_peserta,
    name: state.name,
    pseudonym: result.pseudonym,
    "computed-at": formatDateTime(result.computed_at),
  });
  $("#slip-sections").replaceChildren(...sectionRows(result));
  $("#slip-total").textContent = formatScore(result.total);
  $("#slip-max-total").textContent = formatScore(result.max_total);
  $("#slip-rules").replaceChildren(...ruleRows(result));
  const verdict = $("#slip-verdict");
  verdict.textContent = verdictText(result);
  verdict.dataset.passed = String(result.passed);
  const code = encodeURIComponent(result.slip_code);
  $("#slip-code").textContent = result.slip_code;
  $("#slip-verify-url").textContent = `${slip.dataset.publicBase}/verify/${code}`;
  const qr = $("#slip-qr");
  qr.addEventListener("error", () => {
    qr.hidden = true;
  });
  qr.src = `/api/v1/public/slips/${code}/qr.svg`;
  slip.hidden = false;
  $("#slip-heading").focus();
}

async function load() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return missing(null);
  try {
    const state = await api("GET", "/api/v1/attempts/current", { token });
    if (state.status !== "finished" || !state.result) return missing(t("slip.not_ready"));
    render(state);
  } catch (error) {
    const text = error instanceof ApiError && error.status === 401 ? t("login.expired") : errorText(error, "slip.error");
    missing(text);
  }
  return undefined;
}

$("#print-button").addEventListener("click", () => window.print());
load();
