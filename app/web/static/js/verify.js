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

/** The bytes of unpadded URL-safe base64. */
function fromBase64Url(text) {
  const plain = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = plain + "=".repeat((4 - (plain.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

let publicKeys = null;

/** The server's Ed25519 public keys (GET /api/v1/public/keys), fetched once. */
async function signingKeys() {
  if (publicKeys === null) publicKeys = (await api("GET", "/api/v1/public/keys")).keys;
  return publicKeys;
}

/**
 * Check a signed document in the browser with WebCrypto Ed25519 and the published public keys:
 * the signature covers the UTF-8 bytes of its "payload" text. Resolves to { valid, keyId, kind }.
 */
async function checkSignature(documentObject) {
  const payload = documentObject && documentObject.payload;
  const signature = documentObject && documentObject.signature;
  if (typeof payload !== "string" || !signature || signature.algorithm !== "Ed25519") {
    return { valid: false, reason: "verify.document.not_signed" };
  }
  const entry = (await signingKeys()).find((k) => k.key_id === signature.key_id);
  if (!entry) return { valid: false, reason: "verify.signature.unknown_key", keyId: signature.key_id };
  let valid = false;
  try {
    const publicKey = await crypto.subtle.importKey("raw", fromBase64Url(entry.public_key), { name: "Ed25519" }, false, [
      "verify",
    ]);
    valid = await crypto.subtle.verify(
      { name: "Ed25519" },
      publicKey,
      fromBase64Url(signature.value),
      new TextEncoder().encode(payload),
    );
  } catch (error) {
    if (error instanceof DOMException && error.name === "NotSupportedError") {
      return { valid: false, reason: "verify.signature.unsupported", keyId: entry.key_id };
    }
    valid = false;
  }
  let kind = "";
  try {
    kind = JSON.parse(payload).kind || "";
  } catch {
    valid = false;
  }
  return { valid, reason: valid ? "verify.signature.valid" : "verify.signature.invalid", keyId: entry.key_id, kind };
}

function showSignature(target, outcome) {
  target.dataset.valid = String(outcome.valid);
  const kind = outcome.kind ? ` (${outcome.kind})` : "";
  target.textContent = `${outcome.valid ? "✓" : "✕"} ${t(outcome.reason)}${outcome.keyId ? ` — ${t("verify.signature.key")} ${outcome.keyId}` : ""}${kind}`;
}

async function checkSlipSignature() {
  try {
    const signed = await api("GET", `/api/v1/public/slips/${encodeURIComponent(code)}/signed`);
    showSignature($("#signature-verdict"), await checkSignature(signed));
    $("#signature").hidden = false;
  } catch (error) {
    // Only an authentic code has a signed slip; the verdict above already says why not.
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
}

async function check() {
  $("#verify-loading").hidden = false;
  try {
    const result = await api("GET", `/api/v1/public/slips/${encodeURIComponent(code)}`);
    showVerdict(result);
    showOnFile(result.slip);
    if (result.authentic) await checkSlipSignature();
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

$("#document-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const target = $("#document-verdict");
  let parsed;
  try {
    parsed = JSON.parse($("#document-text").value);
  } catch {
    showSignature(target, { valid: false, reason: "verify.document.not_json" });
    return;
  }
  try {
    showSignature(target, await checkSignature(parsed));
  } catch (error) {
    showSignature(target, { valid: false, reason: "verify.document.error" });
  }
});

if (code) {
  check();
} else {
  $("#verify-code").focus();
}
