/**
 * The status poll loop of one Compago payment, free of any Odoo or POS dependency so that it can
 * be unit-tested with a fake clock.
 *
 * Rules (see docs/architecture.md, "POS frontend"):
 * - never two requests at once: the next poll is scheduled `interval` ms after the previous
 *   answer, not on a fixed beat;
 * - `poke()` (tab visible again, network back) polls at once, or right after the request in
 *   flight;
 * - while offline or after a failed request, the delay doubles up to `maxInterval`
 *   (3 s → 6 → 12 → 24 → 30 s); the loop never gives up on a transient error;
 * - the loop stops when `onResult` says the answer is final, when `stop()` is called, or after
 *   `deadline`: once the deadline has passed it asks one last time, then calls `onDeadline`.
 */

export const POLL_INTERVAL_MS = 3000;
export const MAX_POLL_INTERVAL_MS = 30000;

/**
 * Delay before the next poll after `failures` consecutive failures.
 *
 * @param {number} failures
 * @param {number} [interval]
 * @param {number} [maxInterval]
 * @returns {number}
 */
export function backoffDelay(
    failures,
    interval = POLL_INTERVAL_MS,
    maxInterval = MAX_POLL_INTERVAL_MS
) {
    if (failures <= 0) {
        return interval;
    }
    return Math.min(interval * 2 ** failures, maxInterval);
}

const defaultTimers = {
    setTimeout: (callback, delay) => setTimeout(callback, delay),
    clearTimeout: (handle) => clearTimeout(handle),
    now: () => Date.now(),
};

export class CompagoPoller {
    /**
     * @param {Object} params
     * @param {() => Promise<any>} params.fetchStatus asks the server once
     * @param {(result: any) => boolean | Promise<boolean>} params.onResult handles an answer;
     *        returns true when it is final (the loop stops)
     * @param {(error: any, failures: number) => void} [params.onError] a failed request
     * @param {() => void} [params.onDeadline] the deadline passed without a final answer
     * @param {() => boolean} [params.isOnline] false: skip the request and back off
     * @param {number} [params.interval]
     * @param {number} [params.maxInterval]
     * @param {{setTimeout: Function, clearTimeout: Function, now: Function}} [params.timers]
     */
    constructor({
        fetchStatus,
        onResult,
        onError = () => {},
        onDeadline = () => {},
        isOnline = () => true,
        interval = POLL_INTERVAL_MS,
        maxInterval = MAX_POLL_INTERVAL_MS,
        timers = defaultTimers,
    }) {
        this.fetchStatus = fetchStatus;
        this.onResult = onResult;
        this.onError = onError;
        this.onDeadline = onDeadline;
        this.isOnline = isOnline;
        this.interval = interval;
        this.maxInterval = maxInterval;
        this.timers = timers;
        this.deadline = null;
        this.running = false;
        this.inFlight = false;
        this.failures = 0;
        this.requests = 0;
        this._timer = null;
        this._pokeRequested = false;
    }

    /**
     * Start polling (first request after one interval, or at once with `immediate`).
     *
     * @param {Object} [options]
     * @param {number|null} [options.deadline] epoch ms after which the loop gives up
     * @param {boolean} [options.immediate]
     */
    start({ deadline = null, immediate = false } = {}) {
        this.deadline = deadline;
        this.failures = 0;
        this.running = true;
        if (!this.inFlight) {
            this._schedule(immediate ? 0 : this.interval);
        }
    }

    stop() {
        this.running = false;
        this._pokeRequested = false;
        this._clearTimer();
    }

    /** Poll now (or right after the request in flight), e.g. when the tab becomes visible. */
    poke() {
        if (!this.running) {
            return;
        }
        if (this.inFlight) {
            this._pokeRequested = true;
            return;
        }
        this._schedule(0);
    }

    /** The delay the loop waits before the next request, given the failures so far. */
    get currentDelay() {
        return backoffDelay(this.failures, this.interval, this.maxInterval);
    }

    _clearTimer() {
        if (this._timer !== null) {
            this.timers.clearTimeout(this._timer);
            this._timer = null;
        }
    }

    _schedule(delay) {
        this._clearTimer();
        this._timer = this.timers.setTimeout(() => {
            this._timer = null;
            this._tick();
        }, delay);
    }

    _deadlinePassed() {
        return this.deadline !== null && this.timers.now() >= this.deadline;
    }

    async _tick() {
        if (!this.running || this.inFlight) {
            return;
        }
        const lastChance = this._deadlinePassed();
        if (!this.isOnline() && !lastChance) {
            this.failures += 1;
            this.onError(null, this.failures);
            this._schedule(this.currentDelay);
            return;
        }
        this.inFlight = true;
        this._pokeRequested = false;
        this.requests += 1;
        let result;
        let failed = false;
        let error = null;
        try {
            result = await this.fetchStatus();
        } catch (caught) {
            failed = true;
            error = caught;
        }
        this.inFlight = false;
        if (!this.running) {
            return;
        }
        if (failed) {
            this.failures += 1;
            this.onError(error, this.failures);
        } else {
            this.failures = 0;
            let final = false;
            try {
                final = await this.onResult(result);
            } catch (caught) {
                this.failures += 1;
                this.onError(caught, this.failures);
            }
            if (final) {
                this.stop();
                return;
            }
        }
        if (!this.running) {
            return;
        }
        if (lastChance) {
            this.stop();
            this.onDeadline();
            return;
        }
        this._schedule(this._pokeRequested && !failed ? 0 : this.currentDelay);
        this._pokeRequested = false;
    }
}
