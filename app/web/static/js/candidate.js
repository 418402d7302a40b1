// The candidate's page: login (nomor peserta + PIN), instructions, the exam and the result.
// The token lives in sessionStorage (this tab, gone with the browser: the next candidate on
// this PC never inherits it); unsent answers live in localStorage per attempt (they survive a
// crash and go out after the candidate logs in again on this PC).

import {
  $, $$, ApiError, NetworkError, announce, api, el, errorText, fill, formatClock, formatScore,
  showError, showView, t,
} from "./common.js";
import { Countdown } from "./countdown.js";
import { ruleRows, sectionRows, verdictText } from "./results.js";
import { SaveQueue } from "./save-queue.js";

const TOKEN_KEY = "ujian.candidate.token";
// Set by the practice page (/simulasi) when this tab starts a practice attempt (no roster row).
const PRACTICE_KEY = "ujian.practice";
const HEARTBEAT_MS = 30000;
const MAX_VIEWS = 64; // item views one save carries (the server refuses more)
const PAUSED_POLL_MS = 3000;
const ENDING_POLL_MS = 1500;
const MOVE_POLL_MS = 3000;

const views = {
  loading: $("#view-loading"),
  login: $("#view-login"),
  move: $("#view-move"),
  instructions: $("#view-instructions"),
  exam: $("#view-exam"),
  result: $("#view-result"),
};
const dialogs = {
  finish: $("#finish-dialog"),
  paused: $("#paused-dialog"),
  ended: $("#ended-dialog"),
};

const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  state: null,
  items: [], // the form as shown: the server's answers with this PC's newer ones on top
  changes: new Map(), // position -> {option, flagged, seq} of answers changed on this page
  current: 1,
  queue: null,
  lastContact: 0,
  ending: false,
  pausedPoll: null,
  saveStatus: "saved",
};

const countdown = new Countdown({
  onTick: showTime,
  onZero: startEnding,
  onMilestone: (minutes) => announce(t("timer.announce", { minutes })),
});

// --------------------------------------------------------------------------------------------
// Talking to the server

async function call(method, path, body) {
  const data = await api(method, path, { token: session.token, body });
  session.lastContact = performance.now();
  return data;
}

async function refresh() {
  if (!session.token) return;
  try {
    applyState(await call("GET", "/api/v1/attempts/current"));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) loggedOut(error);
    else if (!(error instanceof NetworkError || error instanceof ApiError)) throw error;
    // Offline or a server hiccup: the heartbeat, the "online" event or the next save retries.
  }
}

/**
 * While paused or ending, ask only for the clock (one row on the server) and fetch the whole
 * state when something changed. Thousands of screens poll at once after a room-wide pause, so
 * each waits a little jitter to spread them out.
 */
async function poll() {
  if (!session.token) return;
  let clock;
  try {
    clock = await call("GET", "/api/v1/attempts/current/clock");
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) loggedOut(error);
    else if (!(error instanceof NetworkError || error instanceof ApiError)) throw error;
    return;
  }
  const known = session.state;
  const changed =
    !known ||
    clock.status !== "in_progress" ||
    clock.paused !== Boolean(known.paused) ||
    clock.last_seq > (known.last_seq ?? 0) ||
    (session.ending && clock.remaining_seconds > 0);
  if (changed) {
    await refresh();
    return;
  }
  countdown.sync(clock.remaining_seconds, clock.paused);
}

function jittered(ms) {
  return ms * (0.75 + Math.random() * 0.5);
}

function schedulePausedPoll() {
  session.pausedPoll = setTimeout(async () => {
    await poll();
    if (session.pausedPoll && session.state?.paused) schedulePausedPoll();
  }, jittered(PAUSED_POLL_MS));
}

function loggedOut(error) {
  const replaced = error?.error === "DeviceReplaced";
  endSession();
  showLogin(replaced ? t("login.replaced") : t("login.expired"));
}

function endSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = null;
  session.state = null;
  session.queue?.suspend();
  session.queue = null;
  session.ending = false;
  session.changes.clear();
  viewLog.length = 0; // the next candidate on this PC starts with no views
  countdown.stop();
  stopPausedPoll();
  for (const dialog of Object.values(dialogs)) if (dialog.open) dialog.close();
  views.exam.inert = false;
}

// --------------------------------------------------------------------------------------------
// Login and instructions

function showLogin(message = null) {
  showView(views, "login", { focus: false });
  showError($("#login-error"), message);
  $("#login-nomor").focus();
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const nomor = $("#login-nomor").value.trim();
  const pin = $("#login-pin").value.trim();
  const errorNode = $("#login-error");
  if (!nomor || !pin) {
    showError(errorNode, t("login.missing"));
    (nomor ? $("#login-pin") : $("#login-nomor")).focus();
    return;
  }
  showError(errorNode, null);
  const button = event.submitter || $("#login-form button[type=submit]");
  button.disabled = true;
  try {
    const login = await api("POST", "/api/v1/candidate/login", { body: { nomor_peserta: nomor, pin } });
    $("#login-pin").value = "";
    await loggedIn(login.access_token, login.moved);
    if (!session.state && session.token) showError(errorNode, t("error.network"));
  } catch (error) {
    if (error instanceof ApiError && error.error === "DeviceMovePending") {
      $("#login-pin").value = "";
      waitForMove(error.body.move_token);
      return;
    }
    if (error instanceof ApiError && error.error === "TooManyRequests") {
      showError(errorNode, t("login.error.TooManyRequests", { seconds: error.body?.retry_after ?? 60 }));
    } else {
      showError(errorNode, errorText(error, "login.error"));
    }
    $("#login-pin").select();
  } finally {
    button.disabled = false;
  }
});

async function loggedIn(token, moved) {
  session.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  if (moved) announce(t("login.moved"));
  await refresh();
}

/**
 * The attempt runs on another PC: this one waits until the proctor approves the move (then it
 * continues into the exam) or refuses it (then it says why). The first PC keeps working.
 */
function waitForMove(moveToken) {
  showView(views, "move");
  $("#move-status").textContent = t("move.waiting");
  showError($("#move-refused"), null);
  $("#move-back").hidden = true;
  const check = async () => {
    let status;
    try {
      status = await api("POST", "/api/v1/candidate/move-status", { body: { move_token: moveToken } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        showLogin(t("login.expired"));
        return;
      }
      if (!(error instanceof NetworkError || error instanceof ApiError)) throw error;
      setTimeout(check, jittered(MOVE_POLL_MS)); // offline: keep waiting
      return;
    }
    if (status.state === "approved") {
      await loggedIn(status.access_token, true);
      if (!session.state) showLogin(t("error.network"));
    } else if (status.state === "pending") {
      setTimeout(check, jittered(MOVE_POLL_MS));
    } else {
      const text = status.state === "refused"
        ? t("move.refused", { reason: status.reason ?? "" })
        : t("move.superseded");
      showError($("#move-refused"), text);
      $("#move-back").hidden = false;
      $("#move-back").focus();
    }
  };
  setTimeout(check, jittered(MOVE_POLL_MS));
}

$("#move-back").addEventListener("click", () => showLogin());

function isPractice() {
  return session.state !== null && sessionStorage.getItem(PRACTICE_KEY) === String(session.state.attempt_id);
}

function showCandidate(state) {
  const practice = isPractice();
  fill(document, {
    "exam-title": state.exam.title,
    name: practice ? t("practice.candidate_name") : state.name,
    nomor: practice ? t("practice.nomor") : state.nomor_peserta,
    sitting: state.sitting.name,
  });
}

function showInstructions(state) {
  fill(views.instructions, {
    duration: t("instructions.minutes", { minutes: Math.round((state.duration_seconds || 0) / 60) }),
  });
  $("#instructions-sections").replaceChildren(
    ...state.sections.map((section) =>
      el("tr", {}, el("td", { textContent: section.name }), el("td", { className: "num", textContent: section.items })),
    ),
  );
  showError($("#start-error"), null);
  if (views.instructions.hidden) showView(views, "instructions");
}

$("#start-button").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    applyState(await call("POST", "/api/v1/attempts/current/start"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) loggedOut(error);
    else showError($("#start-error"), errorText(error, "start.error"));
  } finally {
    button.disabled = false;
  }
});

for (const button of $$("[data-action=logout]")) {
  button.addEventListener("click", () => {
    const practice = isPractice();
    endSession();
    if (practice) {
      sessionStorage.removeItem(PRACTICE_KEY);
      window.location.assign("/simulasi");
    } else {
      showLogin();
    }
  });
}

// --------------------------------------------------------------------------------------------
// State

function applyState(state) {
  session.state = state;
  showCandidate(state);
  if (state.status === "ready") {
    showInstructions(state);
  } else if (state.status === "in_progress") {
    showExam(state);
  } else {
    showResult(state);
  }
}

function positionKey() {
  return `ujian.current.${session.state.attempt_id}`;
}

// --- Item views: which item was shown when, for the committee's integrity report. They ride on
// the next save (no request of their own) as [position, ms before sending]; the server stamps
// its own time, so this PC's clock only measures durations. Kept until a save carrying them is
// acknowledged, so a failed save resends them with fresh ages.
const viewLog = []; // [position, performance.now()] oldest first

function noteView(position) {
  viewLog.push([position, performance.now()]);
  if (viewLog.length > MAX_VIEWS) viewLog.splice(0, viewLog.length - MAX_VIEWS);
}

function viewAges(batch) {
  const now = performance.now();
  return batch.map(([position, at]) => [position, Math.max(0, Math.round(now - at))]);
}

function forgetViews(batch) {
  const sent = new Set(batch);
  for (let i = viewLog.length - 1; i >= 0; i -= 1) if (sent.has(viewLog[i])) viewLog.splice(i, 1);
}

async function sendSave(entry) {
  const batch = viewLog.slice();
  const body = { option: entry.option, flagged: entry.flagged, seq: entry.seq };
  if (batch.length > 0) body.views = viewAges(batch);
  const ack = await call("PUT", `/api/v1/attempts/current/responses/${entry.position}`, body);
  forgetViews(batch);
  return ack;
}

/** The heartbeat's share: views no save carried (a candidate reading without answering). */
async function sendViews() {
  const batch = viewLog.slice();
  if (batch.length === 0 || session.queue?.size > 0) return;
  try {
    await call("POST", "/api/v1/attempts/current/views", { views: viewAges(batch) });
    forgetViews(batch);
  } catch {
    // Kept for the next save or heartbeat.
  }
}

function showExam(state) {
  const entering = views.exam.hidden || !session.queue;
  if (!session.queue) {
    session.queue = new SaveQueue(state.attempt_id, {
      send: sendSave,
      onAck: saved,
      onStatus: showSaveState,
      onStopped: saveStopped,
    });
  }
  session.queue.observe(state.last_seq);
  mergeItems(state);
  if (entering) {
    const stored = Number(sessionStorage.getItem(positionKey()));
    session.current = stored >= 1 && stored <= session.items.length ? stored : 1;
    buildGrid();
    showView(views, "exam", { focus: false });
    renderItem();
    $("#question-heading").focus();
  } else {
    updateGrid();
    renderItem({ keepFocus: true });
  }
  countdown.sync(state.remaining_seconds, state.paused);
  setPaused(state.paused);
  if (state.paused) return;
  session.queue.release();
  if (session.ending && state.remaining_seconds > 0) stopEnding();
  else if (state.remaining_seconds === 0) startEnding();
}

/** The server's answers, overridden by this PC's answers it has not seen yet. */
function mergeItems(state) {
  const local = new Map(session.changes);
  for (const [position, entry] of session.queue.overlay()) {
    if (!local.has(position) || local.get(position).seq < entry.seq) local.set(position, entry);
  }
  session.items = state.items.map((item) => {
    const mine = local.get(item.position);
    return mine && mine.seq > state.last_seq ? { ...item, option: mine.option, flagged: mine.flagged } : { ...item };
  });
}

function saved(ack, entry) {
  countdown.sync(ack.remaining_seconds, false);
  if (session.awaitingAdaptive === entry.position) {
    // The next adaptive item (or, at the section's end, the item after it) arrives with a refresh.
    session.awaitingAdaptive = null;
    const target = ack.next_position ?? nextAfterAdaptive(entry.position);
    refresh().then(() => (target ? go(target) : openFinish()));
    return;
  }
  // Not applied with a newer seq: an answer from another PC stands; show it.
  if (!ack.applied && ack.seq > entry.seq) refresh();
}

/** The first position after the adaptive section holding ``position`` (null at the end). */
function nextAfterAdaptive(position) {
  const section = session.items[position - 1]?.section;
  const later = session.items.find((item) => item.position > position && item.section !== section);
  return later ? later.position : null;
}

function saveStopped(error) {
  if (error.error === "AttemptPaused") {
    refresh();
  } else if (error.error === "DeadlinePassed" || error.error === "AttemptNotActive") {
    session.queue.discard();
    startEnding();
  } else {
    loggedOut(error);
  }
}

function showSaveState(status, count) {
  const node = $("#save-state");
  const previous = session.saveStatus;
  session.saveStatus = status;
  node.dataset.state = status;
  $("#save-state-text").textContent = t(`save.${status}`, { count });
  if (status === "offline" && previous !== "offline") announce(t("save.offline_announce"));
  if (status === "saved" && previous === "offline") announce(t("save.back_online"));
}

// --------------------------------------------------------------------------------------------
// The item on screen

function currentItem() {
  return session.items[session.current - 1];
}

function sectionName(code) {
  return session.state.sections.find((section) => section.code === code)?.name ?? code;
}

function renderItem({ keepFocus = false } = {}) {
  const item = currentItem();
  if (!item) return;
  const total = session.items.length;
  $("#question-heading").textContent = t("exam.question_of", { n: item.position, total });
  $("#question-section").textContent = sectionName(item.section);
  const stem = $("#question-stem");
  if (stem.dataset.position !== String(item.position) || !keepFocus) {
    // Item HTML is sanitized when the bank is imported; the page's CSP blocks any script.
    stem.innerHTML = item.stem;
    stem.dataset.position = String(item.position);
    noteView(item.position);
    // The passage the item is read with: sent once per form, listing the positions that read it.
    const passage =
      Object.values(session.state.stimuli ?? {}).find((p) => p.positions.includes(item.position)) ?? null;
    $("#question-passage").hidden = !passage;
    $(".question-panel").classList.toggle("has-passage", Boolean(passage));
    $("#passage-title").textContent = passage ? passage.title || t("exam.passage") : "";
    $("#passage-body").innerHTML = passage ? passage.content : "";
    $("#option-list").replaceChildren(
      ...item.options.map((option) => {
        const text = el("span", { className: "option-text" });
        text.innerHTML = option.text;
        return el(
          "label",
          { className: "option", "data-option": option.id },
          el("input", { type: "radio", name: "answer", value: option.id, id: `option-${option.id}` }),
          el("span", { className: "option-letter", textContent: option.id }),
          text,
        );
      }),
    );
  }
  for (const input of $$("#option-list input")) {
    input.checked = input.value === item.option;
    input.closest(".option").classList.toggle("chosen", input.checked);
  }
  const note = $("#adaptive-note");
  note.hidden = !item.adaptive;
  note.textContent = item.pending
    ? t("exam.adaptive_pending")
    : item.locked
      ? t("exam.adaptive_locked")
      : item.adaptive
        ? t("exam.adaptive_confirm")
        : "";
  for (const input of $$("#option-list input")) input.disabled = Boolean(item.locked || item.pending);
  const flag = $("#flag-button");
  flag.setAttribute("aria-pressed", String(item.flagged));
  flag.disabled = Boolean(item.adaptive);
  $("#clear-button").disabled = item.option === null || Boolean(item.adaptive);
  $("#prev-button").disabled = item.position === 1;
  updateGrid();
}

function go(position) {
  if (position < 1 || position > session.items.length) return;
  session.current = position;
  sessionStorage.setItem(positionKey(), String(position));
  renderItem();
  window.scrollTo({ top: 0 });
  $("#question-heading").focus({ preventScroll: true });
}

function canAnswer() {
  return !session.ending && !session.state?.paused && !views.exam.hidden;
}

function record(item) {
  session.queue.add(item.position, item.option, item.flagged);
  session.changes.set(item.position, { option: item.option, flagged: item.flagged, seq: session.queue.seq });
}

function choose(letter) {
  const item = currentItem();
  if (!canAnswer() || !item.options.some((option) => option.id === letter)) return false;
  if (item.locked || item.pending) return false;
  if (item.option === letter) return true;
  item.option = letter;
  // An adaptive answer is final: it goes out only with "Simpan dan Lanjutkan".
  if (!item.adaptive) record(item);
  renderItem({ keepFocus: true });
  return true;
}

function clearAnswer() {
  const item = currentItem();
  if (!canAnswer() || item.option === null || item.adaptive) return;
  item.option = null;
  record(item);
  renderItem({ keepFocus: true });
  announce(t("exam.cleared"));
}

function toggleFlag() {
  const item = currentItem();
  if (!canAnswer() || item.adaptive) return;
  item.flagged = !item.flagged;
  record(item);
  renderItem({ keepFocus: true });
  announce(item.flagged ? t("exam.flag_on") : t("exam.flag_off"));
}

function next() {
  const item = currentItem();
  if (item && item.adaptive && !item.locked && !item.pending) {
    if (!canAnswer()) return;
    if (item.option === null) {
      announce(t("exam.adaptive_choose"));
      return;
    }
    // Sent now and locked; the server answers with the position of the item it chose next.
    item.locked = true;
    record(item);
    session.awaitingAdaptive = item.position;
    renderItem({ keepFocus: true });
    return;
  }
  if (session.current < session.items.length) go(session.current + 1);
  else openFinish();
}

$("#option-list").addEventListener("change", (event) => {
  if (event.target.name !== "answer") return;
  if (!choose(event.target.value)) renderItem({ keepFocus: true });
});
$("#flag-button").addEventListener("click", toggleFlag);
$("#clear-button").addEventListener("click", clearAnswer);
$("#prev-button").addEventListener("click", () => go(session.current - 1));
$("#next-button").addEventListener("click", next);

// --------------------------------------------------------------------------------------------
// The grid of item numbers

function cellLabel(item) {
  const parts = [t("grid.item", { n: item.position })];
  parts.push(item.option ? t("grid.answered", { letter: item.option }) : t("grid.unanswered"));
  if (item.flagged) parts.push(t("grid.flagged"));
  return parts.join(", ");
}

function buildGrid() {
  const groups = session.state.sections
    .map((section) => {
      const items = session.items.filter((item) => item.section === section.code);
      if (items.length === 0) return null;
      return el(
        "div",
        { className: "grid-section" },
        el("p", { className: "grid-section-title", textContent: section.name }),
        el(
          "div",
          { className: "grid-cells" },
          ...items.map((item) =>
            el(
              "button",
              { type: "button", className: "cell", "data-position": item.position },
              el("span", { className: "cell-number", textContent: item.position }),
              el("span", { className: "cell-letter", "aria-hidden": "true" }),
            ),
          ),
        ),
      );
    })
    .filter(Boolean);
  $("#item-grid").replaceChildren(...groups);
  updateGrid();
}

function updateGrid() {
  let answered = 0;
  let flagged = 0;
  for (const cell of $$("#item-grid .cell")) {
    const item = session.items[Number(cell.dataset.position) - 1];
    if (!item) continue;
    const state = item.flagged ? "flagged" : item.option ? "answered" : "unanswered";
    cell.dataset.state = state;
    cell.disabled = Boolean(item.pending);
    cell.querySelector(".cell-letter").textContent = item.option ?? "";
    cell.setAttribute("aria-label", cellLabel(item));
    const isCurrent = item.position === session.current;
    cell.tabIndex = isCurrent ? 0 : -1;
    if (isCurrent) cell.setAttribute("aria-current", "true");
    else cell.removeAttribute("aria-current");
    if (item.option) answered += 1;
    if (item.flagged) flagged += 1;
  }
  $("#progress").textContent = t("exam.progress", {
    answered,
    total: session.items.length,
    flagged,
  });
}

$("#item-grid").addEventListener("click", (event) => {
  const cell = event.target.closest(".cell");
  if (cell) go(Number(cell.dataset.position));
});

// Roving focus: one tab stop for the whole grid, arrows move inside it.
$("#item-grid").addEventListener("keydown", (event) => {
  const cell = event.target.closest(".cell");
  if (!cell) return;
  const cells = $$("#item-grid .cell");
  const index = cells.indexOf(cell);
  // Up and down move by one row of the cell's section as laid out (the grid reflows with the
  // text size).
  const siblings = [...cell.parentElement.children];
  const row = siblings.filter((other) => other.offsetTop === siblings[0].offsetTop).length || 1;
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: row, ArrowUp: -row };
  let target = null;
  if (event.key in moves) target = index + moves[event.key];
  else if (event.key === "Home") target = 0;
  else if (event.key === "End") target = cells.length - 1;
  if (target === null) return;
  event.preventDefault();
  const next = cells[Math.min(cells.length - 1, Math.max(0, target))];
  for (const other of cells) other.tabIndex = -1;
  next.tabIndex = 0;
  next.focus();
});

// --------------------------------------------------------------------------------------------
// Keyboard: A–E choose, ↑/↓ move the choice, Enter saves and goes on, R marks ragu-ragu.

document.addEventListener("keydown", (event) => {
  if (views.exam.hidden || event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
  if (document.querySelector("dialog[open]")) return;
  const target = event.target;
  if (target.matches?.("input:not([type=radio]), textarea, select")) return;
  const inGrid = Boolean(target.closest?.("#item-grid"));
  const key = event.key;
  const item = currentItem();
  if (!item) return;

  if (/^[a-f]$/i.test(key)) {
    const letter = key.toUpperCase();
    if (item.options.some((option) => option.id === letter)) {
      event.preventDefault();
      if (choose(letter)) announce(t("exam.chosen", { letter }));
    }
  } else if (key === "r" || key === "R") {
    event.preventDefault();
    toggleFlag();
  } else if ((key === "ArrowDown" || key === "ArrowUp") && !inGrid && target.type !== "radio") {
    event.preventDefault();
    const letters = item.options.map((option) => option.id);
    const at = letters.indexOf(item.option);
    const step = key === "ArrowDown" ? 1 : -1;
    const index = at === -1 ? (step > 0 ? 0 : letters.length - 1) : Math.min(letters.length - 1, Math.max(0, at + step));
    if (choose(letters[index])) $(`#option-${letters[index]}`).focus();
  } else if (key === "Enter" && !inGrid && !target.closest?.("button, a")) {
    event.preventDefault();
    next();
  }
});

// --------------------------------------------------------------------------------------------
// The clock

function showTime(seconds) {
  const text = formatClock(seconds);
  $("#timer").textContent = text;
  $("#timer-box").dataset.level = seconds <= 60 ? "critical" : seconds <= 300 ? "low" : "normal";
  if (dialogs.paused.open) $("#paused-remaining").textContent = text;
}

function setPaused(paused) {
  if (paused) {
    if (dialogs.finish.open) dialogs.finish.close();
    if (!dialogs.paused.open) {
      dialogs.paused.showModal();
      $("#paused-remaining").textContent = formatClock(countdown.remaining() ?? 0);
      announce(t("paused.title"));
    }
    session.queue?.hold();
    if (!session.pausedPoll) schedulePausedPoll();
  } else {
    if (dialogs.paused.open) {
      dialogs.paused.close();
      announce(t("paused.resumed"));
      $("#question-heading").focus();
    }
    stopPausedPoll();
  }
}

function stopPausedPoll() {
  clearTimeout(session.pausedPoll);
  session.pausedPoll = null;
}

/** The local countdown reached zero (or the server refused a late answer): end the exam. */
async function startEnding() {
  if (session.ending || !session.state || session.state.status !== "in_progress") return;
  session.ending = true;
  if (dialogs.finish.open) dialogs.finish.close();
  views.exam.inert = true;
  if (!dialogs.ended.open) dialogs.ended.showModal();
  announce(t("ended.title"));
  // Answers given before zero still count if they arrive within the server's grace.
  if (session.queue && !session.queue.stopped) await session.queue.drained(4000);
  await refresh();
  while (session.ending && session.token) {
    await new Promise((resolve) => setTimeout(resolve, jittered(ENDING_POLL_MS)));
    if (!session.ending || !session.token) break;
    await poll();
  }
}

function stopEnding() {
  session.ending = false;
  views.exam.inert = false;
  if (dialogs.ended.open) dialogs.ended.close();
}

// A sleeping tab, a suspended PC or a long time without a save: ask the server again.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && !views.exam.hidden) refresh();
});
window.addEventListener("focus", () => {
  if (!views.exam.hidden && performance.now() - session.lastContact > 2000) refresh();
});
window.addEventListener("online", () => {
  session.queue?.flush();
  if (!views.exam.hidden) refresh();
});
setInterval(() => {
  if (views.exam.hidden || session.ending || document.visibilityState !== "visible") return;
  if (performance.now() - session.lastContact > HEARTBEAT_MS) {
    sendViews();
    refresh();
  }
}, 5000);

// --------------------------------------------------------------------------------------------
// Finishing

function openFinish() {
  const answered = session.items.filter((item) => item.option).length;
  $("#finish-answered").textContent = answered;
  $("#finish-unanswered").textContent = session.items.length - answered;
  $("#finish-flagged").textContent = session.items.filter((item) => item.flagged).length;
  showError($("#finish-error"), null);
  dialogs.finish.showModal();
}

$("#finish-button").addEventListener("click", openFinish);
$("#finish-no").addEventListener("click", () => dialogs.finish.close());
dialogs.finish.addEventListener("close", () => {
  if (!views.exam.hidden && !session.ending) $("#question-heading").focus();
});

$("#finish-yes").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const errorNode = $("#finish-error");
  button.disabled = true;
  showError(errorNode, null);
  try {
    if (!(await session.queue.drained(10000))) {
      showError(errorNode, t("finish.pending"));
      return;
    }
    const state = await call("POST", "/api/v1/attempts/current/finish", { confirm: true });
    dialogs.finish.close();
    applyState(state);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) loggedOut(error);
    else showError(errorNode, errorText(error, "finish.error"));
  } finally {
    button.disabled = false;
  }
});

for (const dialog of [dialogs.paused, dialogs.ended]) {
  // Only the server ends these: Escape must not hide a paused or finished exam.
  dialog.addEventListener("cancel", (event) => event.preventDefault());
}

// --------------------------------------------------------------------------------------------
// The result

function showResult(state) {
  countdown.stop();
  stopPausedPoll();
  session.ending = false;
  session.queue?.discard();
  session.queue = null;
  // The attempt is over: nothing of it is left waiting on this PC.
  localStorage.removeItem(`ujian.saves.${state.attempt_id}`);
  sessionStorage.removeItem(positionKey());
  for (const dialog of Object.values(dialogs)) if (dialog.open) dialog.close();
  views.exam.inert = false;
  const result = state.result;
  $("#result-voided").hidden = state.status !== "voided";
  $("#result-hidden").hidden = state.status === "voided" || Boolean(result);
  $("#result-body").hidden = !result || state.status === "voided";
  // A practice attempt has no slip: its result leads to the review (keys and explanations).
  $("#slip-link").hidden = !result || state.status === "voided" || isPractice();
  $("#review-link").hidden = !isPractice();
  if (result) {
    const verdict = $("#result-verdict");
    verdict.textContent = verdictText(result);
    verdict.dataset.passed = String(result.passed);
    $("#result-sections").replaceChildren(...sectionRows(result));
    $("#result-total").textContent = formatScore(result.total);
    $("#result-max-total").textContent = formatScore(result.max_total);
    $("#result-rules").replaceChildren(...ruleRows(result));
    fill(views.result, { pseudonym: result.pseudonym, "slip-code": result.slip_code });
  }
  if (views.result.hidden) showView(views, "result");
}

// --------------------------------------------------------------------------------------------

/** After a reload: back to where the candidate was, waiting for the server if it is away. */
async function resume() {
  await refresh();
  if (session.state || !session.token) return;
  $("#view-loading .loading").textContent = t("common.reconnecting");
  setTimeout(resume, 3000);
}

if (session.token) resume();
else showLogin();
