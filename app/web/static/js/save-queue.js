// The answers waiting to reach the server. Every change of an answer or a ragu-ragu mark is
// queued with the next `seq` of the attempt and kept in localStorage, so it survives a network
// cut, a reload and a browser crash on this PC; saves go out one at a time in order, and an
// entry leaves the queue only when the server acknowledged it (it is durable by then).

import { ApiError, NetworkError } from "./common.js";

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];
/** Refusals that end this PC's saving: the attempt is over, or another PC holds it now. */
const ATTEMPT_ENDED = new Set(["DeadlinePassed", "AttemptNotActive", "DeviceReplaced"]);

export class SaveQueue {
  /**
   * @param {number} attemptId - the queue is kept per attempt
   * @param {object} handlers
   * @param {(entry) => Promise<object>} handlers.send - PUT one entry; resolves with the ack
   * @param {(ack, entry) => void} handlers.onAck - an entry was acknowledged
   * @param {(status: string) => void} handlers.onStatus - "saved" | "saving" | "offline" | "paused"
   * @param {(error: ApiError) => void} handlers.onStopped - the attempt ended, or this PC was logged out
   * @param {(error: ApiError, entry) => void} [handlers.onRefused] - the server will never take
   *   this entry (invalid, no such item, an adaptive item that is locked); it left the queue
   */
  constructor(attemptId, { send, onAck, onStatus, onStopped, onRefused = () => {} }) {
    this.key = `ujian.saves.${attemptId}`;
    this.send = send;
    this.onAck = onAck;
    this.onStatus = onStatus;
    this.onStopped = onStopped;
    this.onRefused = onRefused;
    const stored = JSON.parse(localStorage.getItem(this.key) || "null") || {};
    this.seq = Number(stored.seq) || 0;
    this.pending = Array.isArray(stored.pending) ? stored.pending : [];
    this.inFlight = null;
    this.held = false; // paused by the proctor: keep everything until resumed
    this.stopped = false;
    this.failures = 0;
    this.retryTimer = null;
    this.status = null;
    this.waiters = [];
  }

  persist() {
    localStorage.setItem(this.key, JSON.stringify({ seq: this.seq, pending: this.pending }));
  }

  /**
   * Align with the server's state: `lastSeq` is the newest seq it holds for the attempt.
   * Entries at or below it were applied or superseded (saves go out in order), so they go.
   */
  observe(lastSeq) {
    this.seq = Math.max(this.seq, lastSeq);
    this.pending = this.pending.filter((entry) => entry.seq > lastSeq || entry === this.inFlight);
    this.persist();
    this.update();
  }

  /** The newest queued answer of each position (to show over the server's saved answers). */
  overlay() {
    const latest = new Map();
    for (const entry of this.pending) latest.set(entry.position, entry);
    return latest;
  }

  get size() {
    return this.pending.length;
  }

  /** Queue the answer of `position` (option letter or null, and the ragu-ragu flag). */
  add(position, option, flagged) {
    this.seq += 1;
    // Only the newest answer of a position matters: an older one not yet sent is replaced.
    this.pending = this.pending.filter((entry) => entry.position !== position || entry === this.inFlight);
    this.pending.push({ position, option, flagged, seq: this.seq });
    this.persist();
    this.flush();
  }

  /** Send now (after a reconnect, a resume, or a new entry). */
  flush() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.run();
  }

  hold() {
    this.held = true;
    this.update();
  }

  release() {
    this.held = false;
    this.flush();
  }

  /** Stop sending (this PC logged out); what is queued stays for the next login here. */
  suspend() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.wake();
  }

  /** Stop for good and forget everything (the attempt is over). */
  discard() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.pending = [];
    localStorage.removeItem(this.key);
    this.wake();
  }

  /** Resolves true once the queue is empty, false after `timeoutMs` or when stopped. */
  drained(timeoutMs) {
    if (this.pending.length === 0) return Promise.resolve(true);
    this.flush();
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.pending.length === 0), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(this.pending.length === 0);
      });
    });
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  update(offline = false) {
    let status = "saved";
    if (this.pending.length > 0) {
      if (this.held) status = "paused";
      else if (offline || this.failures > 0) status = "offline";
      else status = "saving";
    }
    if (status !== this.status) {
      this.status = status;
      this.onStatus(status, this.pending.length);
    } else if (status !== "saved") {
      this.onStatus(status, this.pending.length);
    }
  }

  async run() {
    if (this.inFlight || this.held || this.stopped) return;
    while (this.pending.length > 0 && !this.held && !this.stopped) {
      const entry = this.pending[0];
      this.inFlight = entry;
      this.update();
      try {
        const ack = await this.send(entry);
        this.failures = 0;
        this.remove(entry);
        this.onAck(ack, entry);
      } catch (error) {
        this.inFlight = null;
        if (!this.handleFailure(error, entry)) return;
        continue;
      }
      this.inFlight = null;
    }
    this.update();
    if (this.pending.length === 0) this.wake();
  }

  remove(entry) {
    this.pending = this.pending.filter((queued) => queued !== entry);
    this.persist();
  }

  /**
   * Whether to go on with the next entry right away.
   *
   * Only the server's `retryable` flag (or a network failure) sends an entry again as it is; a
   * refusal is never resent: the attempt paused (hold everything until resumed), ended or moved
   * to another PC (stop), or this one entry will never be taken (drop it, keep the others
   * moving). An internal error the server does not call retryable keeps the entry for the next
   * change or reconnect instead of resending it in a loop.
   */
  handleFailure(error, entry) {
    if (error instanceof ApiError && !error.retryable) {
      if (error.error === "AttemptPaused") {
        this.hold();
        this.onStopped(error);
        return false;
      }
      if (error.status === 401 || ATTEMPT_ENDED.has(error.error)) {
        this.onStopped(error);
        return false;
      }
      if (error.status >= 500) {
        this.failures += 1;
        this.update(true);
        return false;
      }
      this.remove(entry);
      this.onRefused(error, entry);
      return true;
    }
    if (!(error instanceof ApiError) && !(error instanceof NetworkError)) throw error;
    // Offline, or the server asked for another try: again, more slowly each time, and never
    // before the server's Retry-After.
    const backoff = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
    const delay = Math.max(backoff, (error instanceof ApiError && error.retryAfterMs) || 0);
    this.failures += 1;
    this.update(true);
    this.retryTimer = setTimeout(() => this.run(), delay);
    return false;
  }
}
