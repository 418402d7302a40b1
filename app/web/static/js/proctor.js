// The proctor console: staff login, the proctor's sittings, and one sitting's seats live with
// the controls (open, pause/resume one or all, extra minutes, void, move to another PC, PINs).

import {
  $, $$, ApiError, announce, el, errorText, formatClock, formatDateTime, showError, showView, t,
} from "./common.js";
import { staffSession } from "./staff.js";

const POLL_MS = 4000;
const MIN_REASON = 3;

const views = { login: $("#view-login"), sittings: $("#view-sittings"), console: $("#view-console") };
const dialog = $("#action-dialog");

const session = staffSession(views, route, {
  role: "proctor",
  tokenKey: "ujian.staff.token",
  wrongRole: "proctor.not_proctor",
  beforeLogin: () => stopPoll(),
  afterLogout: () => {
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  },
});
const call = session.call;

const console_ = {
  sittingId: null,
  data: null,
  rows: new Map(), // seat number -> {row, cells, seat}
  clocks: new Map(), // seat number -> {endAt, frozen}
  poll: null,
  action: null, // what the dialog is about to do
  moves: new Map(), // attempt id -> its pending device-move request
};

// Seat actions offered per status (the API refuses the others anyway).
const SEAT_ACTIONS = {
  absent: ["pin"],
  ready: ["move", "pin", "void"],
  in_progress: ["pause", "extend", "move", "pin", "void"],
  paused: ["resume", "extend", "move", "pin", "void"],
  finished: ["void"],
  voided: [],
};
// Sitting actions shown per sitting status.
const SITTING_ACTIONS = {
  scheduled: ["open"],
  open: ["pause", "close"],
  paused: ["resume"],
  closed: [],
};

// --------------------------------------------------------------------------------------------
// Login and the list of sittings

function statusBadge(kind, status) {
  return el("span", { className: "badge", "data-status": status, textContent: t(`${kind}.${status}`) });
}

async function showSittings() {
  stopPoll();
  console_.sittingId = null;
  let sittings;
  try {
    sittings = await call("GET", "/api/v1/proctor/sittings");
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      showView(views, "sittings");
      showError($("#sittings-empty"), errorText(error, "proctor.error"));
    }
    return;
  }
  $("#sittings-empty").hidden = sittings.length > 0;
  $("#sittings-empty").textContent = t("proctor.no_sittings");
  $("#sittings-table").hidden = sittings.length === 0;
  $("#sittings-body").replaceChildren(
    ...sittings.map((sitting) =>
      el(
        "tr",
        {},
        el("th", { scope: "row", textContent: sitting.name }),
        el("td", { textContent: [sitting.site, sitting.room].filter(Boolean).join(" · ") || "—" }),
        el("td", { textContent: sitting.starts_local }),
        el("td", {}, statusBadge("sitting_status", sitting.status)),
        el(
          "td",
          {},
          el("a", {
            className: "button small",
            href: `#sesi-${sitting.id}`,
            textContent: t("proctor.open_console"),
            "aria-label": t("proctor.open_console_for", { name: sitting.name }),
          }),
        ),
      ),
    ),
  );
  showView(views, "sittings");
}

function route() {
  if (!session.token) return session.showLogin();
  const match = location.hash.match(/^#sesi-(\d+)$/);
  return match ? openConsole(Number(match[1])) : showSittings();
}

window.addEventListener("hashchange", route);
$("#back-to-sittings").addEventListener("click", (event) => {
  event.preventDefault();
  history.pushState(null, "", location.pathname + location.search);
  route();
});

// --------------------------------------------------------------------------------------------
// The seat console

async function openConsole(sittingId) {
  stopPoll();
  if (console_.sittingId !== sittingId) {
    console_.rows.clear();
    console_.clocks.clear();
    $("#seats-body").replaceChildren();
    hidePinSheet();
  }
  console_.sittingId = sittingId;
  const loaded = await loadSeats();
  if (!loaded) return;
  showView(views, "console");
  console_.poll = setInterval(loadSeats, POLL_MS);
}

function stopPoll() {
  clearInterval(console_.poll);
  console_.poll = null;
}

async function loadSeats() {
  const sittingId = console_.sittingId;
  if (sittingId === null) return false;
  try {
    const [data, moves] = await Promise.all([
      call("GET", `/api/v1/sittings/${sittingId}/seats`),
      call("GET", `/api/v1/sittings/${sittingId}/move-requests`),
    ]);
    if (sittingId !== console_.sittingId) return false;
    console_.moves = new Map(moves.map((request) => [request.attempt_id, request]));
    console_.data = data;
    renderConsole(data);
    showError($("#console-error"), null);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return false;
    if (error instanceof ApiError && (error.status === 403 || error.status === 404)) {
      stopPoll();
      showView(views, "console");
      $("#console-heading").textContent = t("proctor.title");
    }
    showError($("#console-error"), errorText(error, "proctor.error"));
    return !views.console.hidden;
  }
}

function renderConsole(data) {
  const sitting = data.sitting;
  $("#console-heading").textContent = sitting.name;
  $("#console-sub").textContent = [sitting.site, sitting.room, formatDateTime(sitting.starts_at)]
    .filter(Boolean)
    .join(" · ");
  const badge = $("#sitting-status");
  badge.dataset.status = sitting.status;
  badge.textContent = t(`sitting_status.${sitting.status}`);
  const allowed = SITTING_ACTIONS[sitting.status] ?? [];
  for (const button of $$("[data-sitting-action]")) button.hidden = !allowed.includes(button.dataset.sittingAction);
  $("#pin-sheet-button").hidden = sitting.status === "closed";
  $("#refreshed").textContent = t("proctor.refreshed", {
    time: new Date().toLocaleTimeString(document.documentElement.lang),
  });
  $("#counts").replaceChildren(
    ...["absent", "ready", "in_progress", "paused", "finished", "voided"].map((status) =>
      el(
        "li",
        { "data-status": status },
        el("span", { className: "count-label", textContent: t(`status.${status}`) }),
        el("strong", { textContent: data.counts[status] ?? 0 }),
      ),
    ),
  );
  renderLockAlert(data.seats);
  renderMoveAlert(data.seats);
  const serverNow = Date.parse(data.server_time);
  const seen = new Set();
  for (const seat of data.seats) {
    seen.add(seat.seat);
    updateRow(seat, serverNow);
  }
  for (const [number, entry] of console_.rows) {
    if (!seen.has(number)) {
      entry.row.remove();
      console_.rows.delete(number);
    }
  }
  tickClocks();
}

// Candidates wrong PINs keep from logging in: one alert above the seats, announced when it
// changes (not at every poll).
function renderLockAlert(seats) {
  const locked = seats.filter((seat) => seat.login_locked_until);
  const alert = $("#lock-alert");
  const text = locked.length
    ? t("proctor.locked_alert", {
        count: locked.length,
        names: locked.map((seat) => `${seat.name} (${seat.seat})`).join(", "),
      })
    : "";
  if (alert.textContent !== text) alert.textContent = text;
  alert.hidden = locked.length === 0;
}

// Logins on a second PC waiting for this proctor: one alert above the seats, like the locks.
function renderMoveAlert(seats) {
  const waiting = seats.filter((seat) => console_.moves.has(seat.attempt_id));
  const alert = $("#move-alert");
  const text = waiting.length
    ? t("proctor.move_alert", {
        count: waiting.length,
        names: waiting.map((seat) => `${seat.name} (${seat.seat})`).join(", "),
      })
    : "";
  if (alert.textContent !== text) alert.textContent = text;
  alert.hidden = waiting.length === 0;
}

// Old and new PC of a pending move, as the proctor compares them.
function moveText(request) {
  const pc = (client, agent) => [client, agent].filter(Boolean).join(", ") || "—";
  return t("proctor.move_request", {
    old: pc(request.old_client, request.old_agent),
    new: pc(request.new_client, request.new_agent),
    time: formatDateTime(request.requested_at),
  });
}

// The actions a seat offers: answering a pending move first, unlocking while its login is
// locked, then its status's.
function seatActions(seat) {
  let actions = SEAT_ACTIONS[seat.status] ?? [];
  if (seat.login_locked_until) actions = ["unlock", ...actions];
  if (console_.moves.has(seat.attempt_id)) actions = ["approve_move", "refuse_move", ...actions];
  return actions;
}

function createRow(seat) {
  const cells = {
    seat: el("td", { className: "num" }),
    nomor: el("td", { className: "mono" }),
    name: el("td"),
    status: el("td"),
    answered: el("td", { className: "num" }),
    remaining: el("td", { className: "num mono" }),
    extra: el("td", { className: "num" }),
    seen: el("td"),
    devices: el("td", { className: "num" }),
    actions: el("td"),
  };
  const button = el("button", { type: "button", className: "button small", textContent: t("proctor.actions") });
  button.addEventListener("click", () => openSeatActions(console_.rows.get(seat.seat).seat));
  cells.actions.append(button);
  cells.button = button;
  const row = el("tr", {}, ...Object.values(cells).filter((cell) => cell.tagName === "TD"));
  // Rows stay in seat order; new ones are appended as the roster grows.
  $("#seats-body").append(row);
  return { row, cells };
}

function lastSeen(seat, serverNow) {
  if (!seat.last_seen_at) return "—";
  const seconds = Math.max(0, Math.round((serverNow - Date.parse(seat.last_seen_at)) / 1000));
  if (seconds < 60) return t("proctor.seen_seconds", { n: seconds });
  if (seconds < 3600) return t("proctor.seen_minutes", { n: Math.floor(seconds / 60) });
  return t("proctor.seen_hours", { n: Math.floor(seconds / 3600) });
}

function updateRow(seat, serverNow) {
  let entry = console_.rows.get(seat.seat);
  if (!entry) {
    entry = createRow(seat);
    console_.rows.set(seat.seat, entry);
  }
  entry.seat = seat;
  const { row, cells } = entry;
  row.dataset.status = seat.status;
  cells.seat.textContent = seat.seat;
  cells.nomor.textContent = seat.nomor_peserta;
  cells.name.textContent = seat.name;
  const lockShown = seat.login_locked_until
    ? t("proctor.login_locked_title", {
        clients: seat.login_locked_from.join(", "),
        time: formatDateTime(seat.login_locked_until),
      })
    : "";
  const move = console_.moves.get(seat.attempt_id);
  const moveShown = move ? moveText(move) : "";
  if (
    cells.status.firstChild?.dataset.status !== seat.status ||
    cells.status.dataset.lock !== lockShown ||
    cells.status.dataset.move !== moveShown
  ) {
    const badges = [statusBadge("status", seat.status)];
    if (lockShown) {
      badges.push(
        " ",
        el("span", {
          className: "badge",
          "data-status": "login_locked",
          textContent: t("proctor.login_locked"),
          title: lockShown,
        }),
      );
    }
    if (moveShown) {
      badges.push(
        " ",
        el("span", {
          className: "badge",
          "data-status": "move_pending",
          textContent: t("proctor.move_pending"),
          title: moveShown,
        }),
      );
    }
    cells.status.replaceChildren(...badges);
    cells.status.dataset.lock = lockShown;
    cells.status.dataset.move = moveShown;
  }
  row.toggleAttribute("data-move-pending", Boolean(move));
  row.toggleAttribute("data-login-locked", Boolean(seat.login_locked_until));
  cells.answered.textContent = seat.items ? `${seat.answered}/${seat.items}` : "—";
  const extra = seat.extra_minutes + seat.credit_minutes;
  cells.extra.textContent = extra ? t("proctor.plus_minutes", { n: extra }) : "—";
  cells.seen.textContent = lastSeen(seat, serverNow);
  cells.devices.textContent = seat.devices || "—";
  cells.button.setAttribute("aria-label", t("proctor.actions_for", { name: seat.name }));
  cells.button.disabled = seatActions(seat).length === 0;
  if (seat.remaining_seconds === null) {
    console_.clocks.delete(seat.seat);
    cells.remaining.textContent = "—";
  } else {
    console_.clocks.set(seat.seat, {
      endAt: performance.now() + seat.remaining_seconds * 1000,
      frozen: seat.status === "paused" ? seat.remaining_seconds : null,
    });
  }
}

function tickClocks() {
  for (const [number, clock] of console_.clocks) {
    const seconds =
      clock.frozen ?? Math.max(0, Math.ceil((clock.endAt - performance.now()) / 1000));
    const cell = console_.rows.get(number)?.cells.remaining;
    if (cell) cell.textContent = formatClock(seconds);
  }
}
setInterval(tickClocks, 1000);

// --------------------------------------------------------------------------------------------
// Actions: one dialog, a reason for every change (it goes to the audit log)

const ACTION_FIELDS = {
  extend: { minutes: true },
  open: { reasonOptional: true },
};

function openDialog(title, subject) {
  $("#action-title").textContent = title;
  $("#action-subject").textContent = subject ?? "";
  $("#action-subject").hidden = !subject;
  $("#action-choices").replaceChildren();
  $("#action-description").textContent = "";
  $("#action-minutes-field").hidden = true;
  $("#action-reason-field").hidden = true;
  $("#action-reason").value = "";
  $("#action-minutes").value = "10";
  $("#action-submit").hidden = true;
  $("#action-submit").disabled = false;
  $("#action-outcome").hidden = true;
  $("#action-cancel").textContent = t("common.cancel");
  showError($("#action-error"), null);
  if (!dialog.open) dialog.showModal();
}

function selectAction(action) {
  console_.action = { ...console_.action, name: action };
  for (const choice of $$("#action-choices button")) {
    choice.setAttribute("aria-pressed", String(choice.dataset.choice === action));
  }
  const scope = console_.action.kind;
  $("#action-description").textContent = t(`action.${scope}.${action}.description`);
  const fields = ACTION_FIELDS[action] ?? {};
  $("#action-minutes-field").hidden = !fields.minutes;
  $("#action-reason-field").hidden = false;
  const submit = $("#action-submit");
  submit.textContent = t(`action.${scope}.${action}.submit`);
  submit.hidden = false;
  submit.classList.toggle("danger", action === "void" || scope === "pins");
  showError($("#action-error"), null);
  (fields.minutes ? $("#action-minutes") : $("#action-reason")).focus();
}

function openSeatActions(seat) {
  console_.action = { kind: "seat", seat };
  const move = console_.moves.get(seat.attempt_id);
  openDialog(
    t("proctor.actions_for", { name: seat.name }),
    [seat.nomor_peserta, t(`status.${seat.status}`), move ? moveText(move) : ""]
      .filter(Boolean)
      .join(" · "),
  );
  const actions = seatActions(seat);
  $("#action-choices").replaceChildren(
    ...actions.map((action) => {
      const button = el("button", {
        type: "button",
        className: `button choice${action === "void" ? " danger-outline" : ""}`,
        textContent: t(`action.seat.${action}.label`),
        "data-choice": action,
        "aria-pressed": "false",
      });
      button.addEventListener("click", () => selectAction(action));
      return button;
    }),
  );
  $("#action-choices button")?.focus();
}

for (const button of $$("[data-sitting-action]")) {
  button.addEventListener("click", () => {
    const action = button.dataset.sittingAction;
    console_.action = { kind: "sitting" };
    openDialog(t(`action.sitting.${action}.label`), console_.data?.sitting.name);
    selectAction(action);
  });
}

$("#pin-sheet-button").addEventListener("click", () => {
  console_.action = { kind: "pins" };
  openDialog(t("pins.title"), console_.data?.sitting.name);
  selectAction("all");
});

$("#action-cancel").addEventListener("click", () => dialog.close());

$("#action-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const action = console_.action;
  if (!action?.name) return;
  const reason = $("#action-reason").value.trim();
  const fields = ACTION_FIELDS[action.name] ?? {};
  const errorNode = $("#action-error");
  if (reason.length < MIN_REASON && !fields.reasonOptional) {
    showError(errorNode, t("proctor.reason_required"));
    $("#action-reason").focus();
    return;
  }
  let minutes = null;
  if (fields.minutes) {
    minutes = Number($("#action-minutes").value);
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 240) {
      showError(errorNode, t("proctor.minutes_invalid"));
      $("#action-minutes").focus();
      return;
    }
  }
  const submit = $("#action-submit");
  submit.disabled = true;
  try {
    await perform(action, { reason: reason || t("proctor.default_reason"), minutes });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) showError(errorNode, errorText(error, "proctor.error"));
  } finally {
    submit.disabled = false;
  }
});

async function perform(action, { reason, minutes }) {
  const sittingId = console_.sittingId;
  if (action.kind === "sitting") {
    await call("POST", `/api/v1/sittings/${sittingId}/${action.name}`, { reason });
    finishAction(t(`action.sitting.${action.name}.done`));
  } else if (action.kind === "pins") {
    const pins = await call("POST", `/api/v1/sittings/${sittingId}/pins`, { reason });
    dialog.close();
    showPinSheet(pins);
  } else if (action.name === "pin") {
    const [issued] = await call("POST", `/api/v1/sittings/${sittingId}/pins`, {
      nomor_peserta: action.seat.nomor_peserta,
      reason,
    });
    // Shown once, in the dialog, for the proctor to hand over; never stored.
    const outcome = $("#action-outcome");
    outcome.replaceChildren(
      t("pins.one", { name: issued.name }),
      " ",
      el("strong", { className: "pin-value", textContent: issued.pin }),
    );
    outcome.hidden = false;
    $("#action-submit").hidden = true;
    $("#action-reason-field").hidden = true;
    $("#action-cancel").textContent = t("common.close");
    $("#action-cancel").focus();
  } else if (action.name === "approve_move" || action.name === "refuse_move") {
    const request = console_.moves.get(action.seat.attempt_id);
    const verb = action.name === "approve_move" ? "approve" : "refuse";
    await call("POST", `/api/v1/attempts/${request.attempt_id}/move-requests/${request.id}/${verb}`, {
      reason,
    });
    finishAction(t(`action.seat.${action.name}.done`, { name: action.seat.name }));
  } else if (action.name === "unlock") {
    const nomor = encodeURIComponent(action.seat.nomor_peserta);
    await call("POST", `/api/v1/sittings/${sittingId}/candidates/${nomor}/unlock`, { reason });
    finishAction(t("action.seat.unlock.done", { name: action.seat.name }));
  } else {
    const attemptId = action.seat.attempt_id;
    const body = action.name === "extend" ? { minutes, reason } : { reason };
    await call("POST", `/api/v1/attempts/${attemptId}/${action.name}`, body);
    finishAction(t(`action.seat.${action.name}.done`, { name: action.seat.name, minutes }));
  }
}

function finishAction(message) {
  dialog.close();
  announce(message);
  loadSeats();
}

// --------------------------------------------------------------------------------------------
// The PIN sheet: PINs are stored hashed, so printing means issuing new ones

function showPinSheet(pins) {
  const sitting = console_.data?.sitting;
  $("#pin-sheet-sub").textContent = [
    sitting?.name,
    [sitting?.site, sitting?.room].filter(Boolean).join(" · "),
    t("pins.issued_at", { time: formatDateTime(new Date().toISOString()) }),
  ]
    .filter(Boolean)
    .join(" — ");
  $("#pin-cards").replaceChildren(
    ...pins.map((pin) =>
      el(
        "li",
        { className: "pin-card" },
        el("span", { className: "pin-seat", textContent: t("pins.seat", { n: pin.seat }) }),
        el("span", { className: "pin-name", textContent: pin.name }),
        el("span", { className: "pin-nomor mono", textContent: pin.nomor_peserta }),
        el("span", { className: "pin-label", textContent: "PIN" }),
        el("strong", { className: "pin-value mono", textContent: pin.pin }),
      ),
    ),
  );
  $("#pin-sheet").hidden = false;
  document.body.classList.add("printing-pins");
  $("#pin-sheet-heading").focus();
  announce(t("pins.issued", { count: pins.length }));
  loadSeats();
  window.print();
}

function hidePinSheet() {
  $("#pin-sheet").hidden = true;
  $("#pin-cards").replaceChildren();
  document.body.classList.remove("printing-pins");
}

$("#pin-sheet-print").addEventListener("click", () => window.print());
$("#pin-sheet-close").addEventListener("click", () => {
  hidePinSheet();
  $("#pin-sheet-button").focus();
});

// --------------------------------------------------------------------------------------------

route();
