// Shared by every page: messages from the catalogue, calls to the JSON API, small DOM helpers,
// the screen-reader announcer and the text-size control.

const messages = JSON.parse(document.getElementById("ujian-messages").textContent);

export const language = document.documentElement.lang || "id";

/** The catalogue's message `key` with `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/**
 * The server answered with an error envelope `{"error", "detail", "retryable"}`.
 *
 * `retryable` is the server's word on whether the very same request may succeed if sent again
 * (an outage, a rate limit, a transient database failure); every refusal says false. An answer
 * without the envelope (a proxy's error page while the server is down) counts as no answer: a
 * 5xx of that kind is retryable, anything else is not. `retryAfterMs` is the `Retry-After`
 * header in milliseconds, or null.
 */
export class ApiError extends Error {
  constructor(status, body, retryAfter = null) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status;
    this.error = body?.error || "HTTPError";
    this.body = body;
    this.retryable = typeof body?.retryable === "boolean" ? body.retryable : !body?.error && status >= 500;
    this.retryAfterMs = retryAfterMs(retryAfter);
  }
}

/** A `Retry-After` value (seconds, or an HTTP date) in milliseconds from now; null if absent. */
function retryAfterMs(value) {
  if (value === null || value === undefined || value === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** The request never got an answer (offline, server down, timeout). */
export class NetworkError extends Error {}

/** Call the JSON API; resolves with the parsed body, rejects with ApiError or NetworkError. */
export async function api(method, path, { token, body, timeoutMs = 15000 } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "same-origin",
        signal: controller.signal,
      });
    } catch (error) {
      throw new NetworkError(error.message);
    }
    let data = null;
    try {
      data = response.status === 204 ? null : await response.json();
    } catch (error) {
      // A cut in the middle of a successful body is still a lost answer.
      if (response.ok) throw new NetworkError(error.message);
    }
    if (!response.ok) throw new ApiError(response.status, data, response.headers.get("Retry-After"));
    return data;
  } finally {
    clearTimeout(timer);
  }
}

/** The first element matching `selector`. */
export const $ = (selector, root = document) => root.querySelector(selector);

/** Every element matching `selector`, as an array. */
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** A new element; `props` sets properties (className, textContent...) or `data-`/aria attributes. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("data-") || name.startsWith("aria-") || name === "role" || name === "scope") {
      node.setAttribute(name, value === true ? "" : String(value));
    } else {
      node[name] = value;
    }
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** Set the text of every `[data-field=name]` inside `root`. */
export function fill(root, values) {
  for (const [name, value] of Object.entries(values)) {
    for (const node of $$(`[data-field="${name}"]`, root)) node.textContent = value ?? "";
  }
}

/** Show one of `views` (elements), hide the others, and move focus to its heading. */
export function showView(views, name, { focus = true } = {}) {
  for (const [key, node] of Object.entries(views)) node.hidden = key !== name;
  const heading = views[name]?.querySelector("h1");
  if (focus && heading) heading.focus({ preventScroll: false });
}

/** `seconds` as HH:MM:SS (fixed width, so the timer does not jitter). */
export function formatClock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}

/** A score as shown: integers plainly, otherwise up to two decimals, in the page's language. */
export function formatScore(value) {
  return new Intl.NumberFormat(language === "id" ? "id-ID" : "en-GB", { maximumFractionDigits: 2 }).format(value);
}

/** A timestamp in the page's language (the browser's time zone: the test centre's). */
export function formatDateTime(iso) {
  return new Intl.DateTimeFormat(language === "id" ? "id-ID" : "en-GB", {
    dateStyle: "long",
    timeStyle: "short",
  }).format(new Date(iso));
}

/** Say `text` to screen readers once, politely. */
export function announce(text) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  // A fresh node after a tick, so a repeated message is read again.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

/** Show an error message in `node` (a role=alert paragraph), or hide it with null. */
export function showError(node, text) {
  node.textContent = text ?? "";
  node.hidden = !text;
}

/** The catalogue's text for an API failure, by its error name, else a generic message. */
export function errorText(error, prefix) {
  if (error instanceof NetworkError) return t("error.network");
  const specific = `${prefix}.${error.error}`;
  const text = t(specific);
  if (text !== specific) return text;
  return t("error.generic", { detail: error.message });
}

// --- Text size: four steps, remembered in a cookie so the server renders it without a flash.

const TEXT_SIZES = 4;

function setTextSize(size) {
  const clamped = Math.min(TEXT_SIZES, Math.max(1, size));
  document.documentElement.dataset.textSize = String(clamped);
  document.cookie = `ujian_text=${clamped}; path=/; max-age=31536000; samesite=lax`;
  for (const button of $$("[data-text-size-step]")) {
    const step = Number(button.dataset.textSizeStep);
    button.disabled = (step < 0 && clamped === 1) || (step > 0 && clamped === TEXT_SIZES);
  }
  return clamped;
}

function setUpTextSize() {
  setTextSize(Number(document.documentElement.dataset.textSize) || 1);
  for (const button of $$("[data-text-size-step]")) {
    button.addEventListener("click", () => {
      const now = Number(document.documentElement.dataset.textSize) || 1;
      const size = setTextSize(now + Number(button.dataset.textSizeStep));
      announce(t("layout.text_size_now", { size }));
    });
  }
}

// Keep the place in a page when switching language: the proctor's sitting (#hash), a ranking
// search or the live board's order (?q=, ?sort=, set by the page after it loaded).
function setUpLanguageLinks() {
  for (const link of $$("[data-lang-link]")) {
    link.addEventListener("click", () => {
      const url = new URL(location.href);
      url.searchParams.set("lang", link.hreflang);
      link.href = url.pathname + url.search + url.hash;
    });
  }
}

setUpTextSize();
setUpLanguageLinks();
