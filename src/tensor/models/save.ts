/**
 * Saving and loading models as tfjs LayersModel files (model.json plus a
 * weights file) with a plain file-system IO handler, so that any tfjs
 * program loads them with `tf.loadLayersModel`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { layoutOf, readAllParams, readState, stateLength, writeAllParams, writeState } from '../flat.js';
import { standardizeTopology } from './standard-topology.js';
// Loading a model builds its layers: an LSTM or GRU needs dtrain's orthogonal initializer registered first, a transformer its attention and position layers.
import '../layers/orthogonal.js';
import '../layers/layer-norm.js';
import '../layers/patches.js';
import '../layers/positions.js';
import '../layers/self-attention.js';

const WEIGHTS_FILE = 'weights.bin';

/** A model as the two files of the tfjs LayersModel format: model.json's text and weights.bin's bytes. */
export interface ModelFiles {
  json: string;
  weights: Buffer;
}

function toFiles(artifacts: tf.io.ModelArtifacts): ModelFiles {
  const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const json = {
    modelTopology: standardizeTopology(artifacts.modelTopology),
    format: 'layers-model',
    generatedBy: 'dtrain',
    convertedBy: null,
    weightsManifest: [{ paths: [`./${WEIGHTS_FILE}`], weights: artifacts.weightSpecs ?? [] }],
  };
  return { json: JSON.stringify(json), weights: Buffer.from(weights) };
}

export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      mkdirSync(dir, { recursive: true });
      const files = toFiles(artifacts);
      writeFileSync(join(dir, WEIGHTS_FILE), files.weights);
      writeFileSync(join(dir, 'model.json'), files.json);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: files.weights.byteLength } };
    },
  };
}

/** The model's files as they are now, in memory (a checkpoint writes them later, off the step path). */
export async function modelFiles(model: LayersModel): Promise<ModelFiles> {
  let files: ModelFiles | undefined;
  await model.save({
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      files = toFiles(artifacts);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: files.weights.byteLength } };
    },
  });
  return files!;
}

/** The names of a saved model's two files. */
export const MODEL_FILES = { json: 'model.json', weights: WEIGHTS_FILE } as const;

export function fileLoadHandler(dir: string): tf.io.IOHandler {
  return {
    load: async (): Promise<tf.io.ModelArtifacts> => {
      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      const manifest = json.weightsManifest;
      const specs = manifest.flatMap((g) => g.weights);
      const buffers = manifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
      const joined = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength),
        format: json.format,
      };
    },
  };
}

/**
 * Copies the parameters and batch-norm state of the model saved in `dir`
 * into `model`, built from the same topology (dtrain attack, a resumed
 * checkpoint); false, copying nothing, when their sizes differ.
 */
export async function loadSavedInto(dir: string, model: LayersModel): Promise<boolean> {
  const saved = await tfl.loadLayersModel(fileLoadHandler(dir));
  try {
    const params = readAllParams([saved]);
    if (params.length !== layoutOf(model).total || stateLength(saved) !== stateLength(model)) return false;
    writeAllParams([model], params);
    writeState(model, readState(saved));
    return true;
  } finally {
    saved.dispose();
  }
}

export async function saveModel(model: LayersModel, dir: string): Promise<void> {
  await model.save(fileSaveHandler(dir));
}

/** A saved model named by a run's folder (holding `sub`/model.json) or by its own folder: the folder that holds model.json, if either does. */
export function findModelDir(dir: string, sub: string): string | undefined {
  return [join(dir, sub), dir].find((d) => existsSync(join(d, 'model.json')));
}
