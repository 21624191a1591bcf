/**
 * model.module: the user's model code. Its default export gets
 * `{tf, inputShape, classes, seed, options, dropout}` and returns (or
 * resolves to) a tf.LayersModel whose output is logits, one per class.
 *
 * `tf` is dtrain's own tfjs (core and layers): tfjs keeps its engine,
 * backend and variables in module state, so a model built with another copy
 * of tfjs (the user's own `import '@tensorflow/tfjs'`) holds variables this
 * process's optimizer and gradients cannot see.
 *
 * Initial weights: tfjs initialisers without a seed draw from Math.random.
 * While the module builds its model, Math.random is a generator seeded by
 * the job seed, so that every build of the same job gets the same weights
 * (1 worker or N, this run or the next) without dtrain-specific code.
 */
import * as tfc from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { JobSpecError } from '../../util/errors.js';
import { hashInts, Rng, Stream } from '../../util/rng.js';
import { importDefaultFunction } from '../../util/user-module.js';
import { SeededDropout } from '../layers/seeded-dropout.js';
import { fitsShape, type ModelShape } from './shape.js';

/** dtrain's tfjs, as one namespace like the `@tensorflow/tfjs` package's. */
export const dtrainTf: Readonly<Record<string, unknown>> = Object.freeze({ ...tfc, ...tfl });
const tf = dtrainTf;

export interface ModelModuleSpec {
  module: string;
  options: Record<string, unknown>;
}

export async function fromModule(spec: ModelModuleSpec, shape: ModelShape, seed: number): Promise<tfl.LayersModel> {
  const build = await importDefaultFunction(spec.module, 'model.module');
  const bad = (message: string, cause?: unknown): never => {
    throw new JobSpecError(spec.module, [{ path: 'model.module', message }], { cause });
  };
  let salt = 0;
  const args = {
    tf,
    inputShape: [...shape.inputShape],
    classes: shape.classes,
    seed,
    options: spec.options,
    /** Dropout whose masks are drawn per sample from the job seed: N workers drop what one process would (tf.layers.dropout's masks differ). */
    dropout: (rate: number) => new SeededDropout({ rate, salt: salt++ }),
  };
  const model = await withSeededRandom(seed, async () => {
    let m: unknown;
    try {
      m = await (build as (a: typeof args) => unknown)(args);
    } catch (err) {
      return bad(`the model module's default export threw: ${(err as Error).message}`, err);
    }
    if (!(m instanceof tfl.LayersModel)) {
      const name = (m as object | null)?.constructor?.name ?? String(m);
      const hint = name === 'Sequential' || name === 'LayersModel' ? ': it was built with another copy of tfjs; build it with the `tf` your function is given' : ' (return a tf.LayersModel, e.g. tf.sequential({layers: […]}))';
      return bad(`the model module's default export returned ${name}, not a tf.LayersModel${hint}`);
    }
    // A sequential model without an input shape creates its weights on first use: create them now, seeded.
    if (m instanceof tfl.Sequential && !m.built) m.build([null, ...shape.inputShape]);
    return m;
  });
  const input = model.inputs[0].shape.slice(1);
  const output = model.outputs[0].shape.slice(1);
  if (!fitsShape(input, shape.inputShape)) bad(`the model takes input of shape [${input}], the data's samples are [${shape.inputShape}]`);
  if (!fitsShape(output, [shape.classes])) bad(`the model outputs [${output}], not one logit per class ([${shape.classes}]): end with tf.layers.dense({units: classes}) and no softmax`);
  return model;
}

/** The process's own Math.random, put back when no build is running. */
const processRandom = Math.random;
let building = 0;

/**
 * Builds with Math.random seeded. Builds in one process follow one another
 * (a worker builds once); should two overlap (two library run() calls at
 * once), Math.random is the process's own again once both are done.
 */
async function withSeededRandom<T>(seed: number, fn: () => Promise<T>): Promise<T> {
  const rng = new Rng(hashInts(seed, Stream.init, 0x6d6f64));
  building++;
  Math.random = () => rng.next();
  try {
    return await fn();
  } finally {
    if (--building === 0) Math.random = processRandom;
  }
}
