/** Reading a run's output folder in tests: its checkpoints, saved weights and the members that joined. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { fileLoadHandler } from '../../src/tensor/models/save.js';
import { flatWeights } from './reference.js';

export const checkpointsOf = (out: string) => (existsSync(join(out, 'checkpoints')) ? readdirSync(join(out, 'checkpoints')).filter((d) => d.startsWith('step-')) : []);

/** The weights of every network a run saved (model/, or generator/ and discriminator/). */
export async function weightsOf(out: string): Promise<Float32Array[]> {
  const nets = existsSync(join(out, 'model')) ? ['model'] : ['generator', 'discriminator'];
  return Promise.all(nets.map(async (n) => flatWeights(await tfl.loadLayersModel(fileLoadHandler(join(out, n))))));
}

/** The `joined` log lines of a run's members of one kind, in the order they joined (every session's). */
export function members(out: string, what: 'worker' | 'ps shard'): { rank: number; memberPid: number; endpoint: string }[] {
  return readFileSync(join(out, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes(`"${what} joined"`))
    .map((l) => JSON.parse(l) as { rank: number; memberPid: number; endpoint: string });
}

/** members(), while the run may not have written its log yet: none joined before it exists. */
export function joinedSoFar(out: string, what: 'worker' | 'ps shard'): { rank: number; memberPid: number; endpoint: string }[] {
  return existsSync(join(out, 'log.jsonl')) ? members(out, what) : [];
}

/** summary.json of a run that may have recovered from lost members. */
export interface Recovered {
  status: string;
  steps: number;
  recoveries: { step: number; lost: string; action: string; seconds: number }[];
}

export const summaryOf = <T = Recovered>(out: string): T => JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as T;
