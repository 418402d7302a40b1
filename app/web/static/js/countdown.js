// The candidate's countdown (Sisa Waktu). The server owns the time: every state or save
// acknowledgement carries `remaining_seconds`, and the local end is recomputed from it on the
// monotonic clock (performance.now), never from the wall clock, so a wrong PC clock or a clock
// change during the exam cannot move the deadline. A sleeping tab is re-synced by the page on
// visibilitychange/focus.

/** Minutes at which a screen reader hears the remaining time (and never in between). */
export const ANNOUNCE_AT_MINUTES = [30, 10, 5, 1];

export class Countdown {
  /**
   * @param {(seconds: number) => void} onTick - called with the whole seconds left, ~4× a second
   * @param {() => void} onZero - called once when the local countdown reaches zero
   * @param {(minutes: number) => void} onMilestone - called when a minute in ANNOUNCE_AT_MINUTES is crossed
   */
  constructor({ onTick, onZero, onMilestone }) {
    this.onTick = onTick;
    this.onZero = onZero;
    this.onMilestone = onMilestone;
    this.endAt = null;
    this.frozen = null;
    this.last = null;
    this.zeroFired = false;
    this.timer = null;
  }

  /** Adopt the server's `remainingSeconds`; `paused` freezes the display at that value. */
  sync(remainingSeconds, paused = false) {
    if (remainingSeconds === null || remainingSeconds === undefined) return;
    this.endAt = performance.now() + remainingSeconds * 1000;
    this.frozen = paused ? remainingSeconds : null;
    if (remainingSeconds > 0) this.zeroFired = false;
    // A re-sync a few seconds on is still the clock running (a milestone crossed in between is
    // said); a jump (an extension, a reload) is not.
    if (this.last !== null && remainingSeconds < this.last && this.last - remainingSeconds <= 5) {
      this.announceCrossings(this.last, remainingSeconds);
    }
    this.last = remainingSeconds;
    if (!this.timer) this.timer = setInterval(() => this.tick(), 250);
    this.tick();
  }

  /** Whole seconds left as displayed. */
  remaining() {
    if (this.endAt === null) return null;
    if (this.frozen !== null) return this.frozen;
    return Math.max(0, Math.ceil((this.endAt - performance.now()) / 1000));
  }

  get paused() {
    return this.frozen !== null;
  }

  tick() {
    const seconds = this.remaining();
    if (seconds === null) return;
    if (this.last !== null && seconds < this.last) this.announceCrossings(this.last, seconds);
    this.last = seconds;
    this.onTick(seconds);
    if (seconds === 0 && !this.paused && !this.zeroFired) {
      this.zeroFired = true;
      this.onZero();
    }
  }

  announceCrossings(before, after) {
    for (const minutes of ANNOUNCE_AT_MINUTES) {
      if (before > minutes * 60 && after <= minutes * 60) this.onMilestone(minutes);
    }
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }
}
