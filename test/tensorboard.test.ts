/**
 * TensorBoard event files, read back by a parser written here (TFRecord
 * framing with its own CRC-32C table, and a protobuf wire-format decoder),
 * independent of the writer's libraries: a 2-worker run's file holds the
 * file version, then a train/loss point for every metrics.jsonl line with
 * the same value, and the test set's eval/accuracy at the last step.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, runCli, tempDir, writeJob } from './helpers/cli.js';

const tmp = tempDir();
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

const CRC32C_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC32C_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
const masked = (b: Uint8Array) => ((((crc32c(b) >>> 15) | (crc32c(b) << 17)) >>> 0) + 0xa282ead8) >>> 0;

/** The records of a TFRecord file, each CRC checked. */
function records(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const len = Number(buf.readBigUInt64LE(at));
    expect(buf.readUInt32LE(at + 8)).toBe(masked(buf.subarray(at, at + 8)));
    const data = buf.subarray(at + 12, at + 12 + len);
    expect(buf.readUInt32LE(at + 12 + len)).toBe(masked(data));
    out.push(data);
    at += 16 + len;
  }
  return out;
}

type Field = { no: number; wire: number; value: bigint | number | Buffer };
/** Protobuf wire format: varints, 64-bit, length-delimited and 32-bit fields. */
function fields(b: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = () => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = b[at++];
      v |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return v;
    }
  };
  while (at < b.length) {
    const key = Number(varint());
    const [no, wire] = [key >>> 3, key & 7];
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 1) {
      out.push({ no, wire, value: b.readDoubleLE(at) });
      at += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, wire, value: b.subarray(at, at + len) });
      at += len;
    } else if (wire === 5) {
      out.push({ no, wire, value: b.readFloatLE(at) });
      at += 4;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

interface Scalar {
  step: number;
  tag: string;
  value: number;
}

function readEvents(file: string): { version?: string; scalars: Scalar[] } {
  let version: string | undefined;
  const scalars: Scalar[] = [];
  for (const rec of records(readFileSync(file))) {
    const f = fields(rec);
    const step = Number((f.find((x) => x.no === 2)?.value as bigint | undefined) ?? 0n);
    const v = f.find((x) => x.no === 3);
    if (v) version = (v.value as Buffer).toString();
    const summary = f.find((x) => x.no === 5);
    if (!summary) continue;
    for (const val of fields(summary.value as Buffer).filter((x) => x.no === 1)) {
      const vf = fields(val.value as Buffer);
      scalars.push({ step, tag: (vf.find((x) => x.no === 1)!.value as Buffer).toString(), value: vf.find((x) => x.no === 2)!.value as number });
    }
  }
  return { version, scalars };
}

describe('TensorBoard event files', () => {
  it('the independent CRC-32C is the standard one (check value of "123456789")', () => {
    expect(crc32c(Buffer.from('123456789')).toString(16)).toBe('e3069283');
  });

  it('a 2-worker run: every metrics line as train/* scalars at its step, the evaluation as eval/*', async () => {
    const job = { name: 'tb', seed: 3, data: { source: 'synthetic', kind: 'blobs', samples: 600, features: 4, classes: 3 }, model: { zoo: 'mlp', hidden: [8] }, train: { epochs: 3, batchSize: 40, logEvery: 5 }, cluster: { workers: 2, backend: 'cpu' } };
    const out = join(tmp.dir, 'tb');
    const r = await runCli(['run', writeJob(tmp.dir, 'tb.json', job), '--out', out, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    const files = readdirSync(join(out, 'tensorboard'));
    expect(files).toEqual([expect.stringMatching(/^events\.out\.tfevents\.\d+\./)]);
    const { version, scalars } = readEvents(join(out, 'tensorboard', files[0]));
    expect(version).toBe('brain.Event:2');
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines.length).toBe(9); // 45 steps, a line every 5
    for (const l of lines) {
      const at = (tag: string) => scalars.find((s) => s.step === l.step && s.tag === tag)?.value;
      expect(at('train/loss')).toBe(Math.fround(l.loss));
      expect(at('train/accuracy')).toBe(Math.fround(l.accuracy));
      expect(at('train/lr')).toBe(Math.fround(l.lr));
      expect(at('train/samplesPerSecond')).toBe(Math.fround(l.samplesPerSecond));
      expect(at('train/epoch')).toBeUndefined();
    }
    // An evaluation at every epoch's end (15 steps an epoch), the last being the final one.
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { eval: { loss: number; accuracy: number }; evaluations: { step: number; loss: number; accuracy: number }[] };
    expect(summary.evaluations.map((e) => e.step)).toEqual([15, 30, 45]);
    expect(summary.evaluations.at(-1)).toEqual({ step: 45, ...summary.eval });
    expect(scalars.filter((s) => s.tag.startsWith('eval/'))).toEqual(summary.evaluations.flatMap((e) => [
      { step: e.step, tag: 'eval/loss', value: Math.fround(e.loss) },
      { step: e.step, tag: 'eval/accuracy', value: Math.fround(e.accuracy) },
    ]));
    // The validation curve is the model's: accuracy after the first epoch below the last (blobs with noise 0.5 are learnt fast).
    expect(summary.evaluations[0].loss).toBeGreaterThan(summary.evaluations[2].loss);

    // Independently: a run stopped after 15 steps evaluates its model at the end, and gets what the periodic evaluation got.
    const short = join(tmp.dir, 'tb-15');
    const r15 = await runCli(['run', writeJob(tmp.dir, 'tb15.json', { ...job, train: { ...job.train, maxSteps: 15, evalEvery: 0 } }), '--out', short, '--no-progress']);
    expect(r15.code, r15.stderr).toBe(0);
    const s15 = JSON.parse(readFileSync(join(short, 'summary.json'), 'utf8')) as { eval: { loss: number; accuracy: number }; evaluations: { step: number }[] };
    expect(s15.evaluations.map((e) => e.step)).toEqual([15]); // evalEvery 0: only the final one
    expect(summary.evaluations[0].loss).toBeCloseTo(s15.eval.loss, 6);
    expect(summary.evaluations[0].accuracy).toBe(s15.eval.accuracy);
  });
});
