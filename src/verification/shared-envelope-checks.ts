import { BUNDLE_BOUNDS } from '../core/clawsig/json-bounds';

/**
 * The memory two workers share while they verify one large bundle (see `evaluateSharingChecksTask`
 * and `checkEnvelopesTask` in evaluate-task.ts): one status per envelope whose signature check
 * (`checkEnvelopeSignature`: the payload's stringify-hash, then Ed25519) either worker may do, so
 * each check is done once, by whichever worker claims it first. Slot 0 is the bundle's own envelope,
 * slot i + 1 the receipt `payload.receipts[i]`. Both workers parse the same text, so a slot names the
 * same JSON value in both.
 *
 * The checker claims from the last receipt backwards while the evaluating worker runs the engine
 * forwards; they meet where their work is even, whatever each thread's speed (a busy core simply
 * does fewer), so no fixed share has to be tuned to a machine.
 */

/** A slot's state. Written with Atomics only. */
export const SLOT = {
  /** Nobody has claimed it. */
  free: 0,
  /** The evaluating worker checks it itself. */
  evaluator: 1,
  /** The checker claimed it and is checking it. */
  checking: 2,
  /** The checker found it passing (`checkEnvelopeSignature` answered null). */
  passed: 3,
  /** The checker found it failing. */
  failed: 4,
} as const;

/** The layout of the shared words: two control words, then the slots. */
export const SHARED_WORDS = { stop: 0, checkerDone: 1, firstSlot: 2 } as const;
const STOP = SHARED_WORDS.stop;
const CHECKER_DONE = SHARED_WORDS.checkerDone;
const FIRST_SLOT = SHARED_WORDS.firstSlot;

/** The bundle's envelope and as many receipts as a bundle within BUNDLE_BOUNDS can list. */
export const SHARED_SLOTS = 1 + BUNDLE_BOUNDS.maxArrayLength;

export function createSharedChecks(): SharedArrayBuffer {
  return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * (FIRST_SLOT + SHARED_SLOTS));
}

/** A view of the shared memory with the few operations each side needs. */
export class SharedChecks {
  private readonly words: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  /** The evaluating worker is done (or gone): the checker claims nothing more. */
  stop(): void {
    Atomics.store(this.words, STOP, 1);
  }

  stopped(): boolean {
    return Atomics.load(this.words, STOP) === 1;
  }

  /** The checker task has ended (normally, killed or crashed): no slot it claimed changes any more. */
  checkerDone(): void {
    Atomics.store(this.words, CHECKER_DONE, 1);
    Atomics.notify(this.words, CHECKER_DONE);
  }

  /** Claims a free slot; answers the state it had (`SLOT.free` when the claim succeeded). */
  claim(slot: number, as: typeof SLOT.evaluator | typeof SLOT.checking): number {
    if (slot < 0 || slot >= SHARED_SLOTS) return SLOT.evaluator;
    return Atomics.compareExchange(this.words, FIRST_SLOT + slot, SLOT.free, as);
  }

  /** The checker's outcome for a slot it claimed. */
  settle(slot: number, passed: boolean): void {
    Atomics.store(this.words, FIRST_SLOT + slot, passed ? SLOT.passed : SLOT.failed);
    Atomics.notify(this.words, FIRST_SLOT + slot);
  }

  /**
   * Whether the checker found the slot passing, waiting while it is still checking it (one
   * envelope: a fraction of a millisecond). A checker that ended without settling it (killed,
   * crashed) leaves it unsettled: false.
   */
  passed(slot: number): boolean {
    const index = FIRST_SLOT + slot;
    for (;;) {
      const state = Atomics.load(this.words, index);
      if (state !== SLOT.checking) return state === SLOT.passed;
      if (Atomics.load(this.words, CHECKER_DONE) === 1) return Atomics.load(this.words, index) === SLOT.passed;
      // Woken by `settle`; the timeout re-reads CHECKER_DONE, which the pool sets when the checker dies.
      Atomics.wait(this.words, index, SLOT.checking, 20);
    }
  }
}
