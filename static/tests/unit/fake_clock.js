/** Timers driven by the test only: time moves when `advance()` says so. */
export class FakeClock {
    constructor() {
        this.time = 0;
        this.nextId = 1;
        this.timers = new Map();
    }

    setTimeout(callback, delay) {
        const id = this.nextId++;
        this.timers.set(id, { at: this.time + delay, callback });
        return id;
    }

    clearTimeout(id) {
        this.timers.delete(id);
    }

    now() {
        return this.time;
    }

    async advance(ms) {
        const end = this.time + ms;
        for (;;) {
            const [next] = [...this.timers.entries()]
                .filter(([, timer]) => timer.at <= end)
                .sort(([, a], [, b]) => a.at - b.at);
            if (!next) {
                break;
            }
            const [id, timer] = next;
            this.timers.delete(id);
            this.time = timer.at;
            timer.callback();
            await flush();
        }
        this.time = end;
        await flush();
    }
}

export async function flush() {
    for (let i = 0; i < 10; i++) {
        await Promise.resolve();
    }
}
