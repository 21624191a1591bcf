/**
 * Replica agreement: every worker of a job holds the same parameters (the
 * ring applies the same update to the same sum; ps workers pull the same
 * slices). A worker that does not — a fault, or a member sending forged
 * gradients to itself — is found by comparing CRC-32s of the parameters at
 * each evaluation and before a model is saved, and fails the job, named,
 * before anything is written from it.
 */
import { ReplicaMismatchError } from '../util/errors.js';
import { label, type WorkerInfo } from './membership.js';

/** Throws unless every worker reported the same CRC; names those that differ from the most common one. */
export function checkAgreement(workers: WorkerInfo[], crcs: (number | undefined)[], when: string): void {
  if (crcs.every((c) => c !== undefined && c === crcs[0])) return;
  const tally = new Map<number | undefined, number>();
  for (const c of crcs) tally.set(c, (tally.get(c) ?? 0) + 1);
  const [common, n] = [...tally.entries()].sort((a, b) => b[1] - a[1])[0];
  // Without a majority (two workers, one each) no side can be trusted: name them all.
  const odd = n * 2 > crcs.length && common !== undefined ? workers.filter((_, i) => crcs[i] !== common) : workers;
  const hex = (c: number | undefined) => (c === undefined ? 'none' : c.toString(16).padStart(8, '0'));
  const who = odd.map((w) => `${label(w)} (crc32 ${hex(crcs[workers.indexOf(w)])})`).join(', ');
  const others = odd.length < workers.length ? `; the others hold crc32 ${hex(common)}` : '';
  throw new ReplicaMismatchError(`the replicas disagree ${when}: ${who} ${odd.length === 1 ? 'holds' : 'hold'} other parameters${others}. Nothing is saved from them.`);
}
