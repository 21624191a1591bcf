/**
 * The adversarial gallery, DIR/gallery.png: the first test images, the
 * evaluation's attack on them (the same inputs the workers evaluated: same
 * keys), and the model's predictions on both. Images only; vectors have no
 * picture.
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { evaluationAttacks, type AdversarialSpec } from './adversarial-spec.js';
import { attack, EVAL_PURPOSE } from './attacks.js';
import { featureSize, gather, type Dataset } from './data/dataset.js';
import { FASHION_MNIST_CLASSES } from './data/idx.js';
import { galleryPicture, type GalleryRow, type Prediction } from './image/attack-gallery.js';
import { encodePng } from './image/png.js';

export const GALLERY_FILE = 'gallery.png';
export const GALLERY_IMAGES = 8;

export interface GalleryJob {
  seed: number;
  data: { source: string };
  adversarial: AdversarialSpec;
}

/** Whether the data are greyscale images a gallery can show. */
export function hasGallery(test: Dataset): boolean {
  return test.featureShape.length === 3 && test.featureShape[2] === 1;
}

/** Writes the gallery of the first `count` test images to `file`; returns how many rows it has. */
export function writeGallery(model: LayersModel, test: Dataset, job: GalleryJob, file: string, count = GALLERY_IMAGES): number {
  const rows = galleryRows(model, test, job, Math.min(count, test.size));
  const attacks = evaluationAttacks(job.adversarial, job.data.source);
  const opts = attacks.pgd ?? attacks.fgsm!;
  const [h, w] = test.featureShape;
  const clip = opts.clip ?? [-Infinity, Infinity];
  const range: [number, number] = Number.isFinite(clip[0]) && Number.isFinite(clip[1]) ? clip : [0, 1];
  const title = `${opts.attack === 'pgd' ? `PGD-${opts.steps}` : 'FGSM'} AT EPS ${opts.epsilon}`;
  const classNames = job.data.source === 'fashion-mnist' ? FASHION_MNIST_CLASSES : [];
  writeFileSync(file, encodePng(galleryPicture(rows, { height: h, width: w, range, epsilon: opts.epsilon, title, classNames })));
  return rows.length;
}

/** The first `count` test images, their adversarial versions under the evaluation's PGD (else FGSM), and the predictions on both. */
export function galleryRows(model: LayersModel, test: Dataset, job: GalleryJob, count: number): GalleryRow[] {
  const attacks = evaluationAttacks(job.adversarial, job.data.source);
  const opts = attacks.pgd ?? attacks.fgsm!;
  const { x, y } = gather(test, Int32Array.from({ length: count }, (_, i) => i));
  const shape = test.featureShape;
  const adv = attack(model, x, y, shape, test.classes, opts, { seed: job.seed, step: 0, offset: 0, purpose: EVAL_PURPOSE });
  const clean = predictions(model, x, count, shape);
  const attacked = predictions(model, adv, count, shape);
  const size = featureSize(test);
  return Array.from({ length: count }, (_, i) => ({
    clean: x.slice(i * size, (i + 1) * size),
    adversarial: adv.slice(i * size, (i + 1) * size),
    label: y[i],
    cleanPrediction: clean[i],
    adversarialPrediction: attacked[i],
  }));
}

function predictions(model: LayersModel, x: Float32Array, n: number, shape: number[]): Prediction[] {
  const p = tf.tidy(() => tf.softmax(model.predict(tf.tensor(x, [n, ...shape])) as tf.Tensor).dataSync() as Float32Array);
  const classes = p.length / n;
  return Array.from({ length: n }, (_, i) => {
    let label = 0;
    for (let c = 1; c < classes; c++) if (p[i * classes + c] > p[i * classes + label]) label = c;
    return { label, probability: p[i * classes + label] };
  });
}
