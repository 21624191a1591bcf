/**
 * The adversarial gallery (DIR/gallery.png): the first test images, the
 * evaluation's attack on them (the same inputs the workers evaluated: same
 * keys), and the model's predictions on both. Images only; vectors have no
 * picture.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { evaluationAttacks, type AdversarialSpec } from './spec.js';
import { attack, EVAL_PURPOSE, type AttackOptions } from './attacks.js';
import { classProbabilities } from '../../tensor/classifier-score.js';
import { featureSize, gather, type Dataset } from '../../data/dataset.js';
import { FASHION_MNIST_CLASSES } from '../../data/idx.js';
import { galleryPicture, type GalleryRow, type Prediction } from './gallery-picture.js';
import type { Raster } from '../../image/png.js';

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

/** The attack the gallery shows: the evaluation's PGD, else its FGSM. */
function galleryAttack(job: GalleryJob): AttackOptions {
  const attacks = evaluationAttacks(job.adversarial, job.data.source);
  return attacks.pgd ?? attacks.fgsm!;
}

/** The gallery of the first `count` test images, and how many rows it has. */
export function gallery(model: LayersModel, test: Dataset, job: GalleryJob, count = GALLERY_IMAGES): { raster: Raster; rows: number } {
  const opts = galleryAttack(job);
  const rows = galleryRows(model, test, job.seed, opts, Math.min(count, test.size));
  const [h, w] = test.featureShape;
  const clip = opts.clip ?? [-Infinity, Infinity];
  const range: [number, number] = Number.isFinite(clip[0]) && Number.isFinite(clip[1]) ? clip : [0, 1];
  const title = `${opts.attack === 'pgd' ? `PGD-${opts.steps}` : 'FGSM'} AT EPS ${opts.epsilon}`;
  const classNames = job.data.source === 'fashion-mnist' ? FASHION_MNIST_CLASSES : [];
  return { raster: galleryPicture(rows, { height: h, width: w, range, epsilon: opts.epsilon, title, classNames }), rows: rows.length };
}

/** The first `count` test images, their adversarial versions under `opts` with the evaluation's key, and the predictions on both. */
export function galleryRows(model: LayersModel, test: Dataset, seed: number, opts: AttackOptions, count: number): GalleryRow[] {
  const { x, y } = gather(test, Int32Array.from({ length: count }, (_, i) => i));
  const shape = test.featureShape;
  const adv = attack(model, x, y as Int32Array, shape, test.classes, opts, { seed, step: 0, offset: 0, purpose: EVAL_PURPOSE });
  const clean = classProbabilities(model, x, count, shape).map(predicted);
  const attacked = classProbabilities(model, adv, count, shape).map(predicted);
  const size = featureSize(test);
  return Array.from({ length: count }, (_, i) => ({
    clean: x.slice(i * size, (i + 1) * size),
    adversarial: adv.slice(i * size, (i + 1) * size),
    label: y[i],
    cleanPrediction: clean[i],
    adversarialPrediction: attacked[i],
  }));
}

/** The most probable class of a p(y|x) row, and its probability. */
function predicted(p: Float64Array): Prediction {
  let label = 0;
  for (let c = 1; c < p.length; c++) if (p[c] > p[label]) label = c;
  return { label, probability: p[label] };
}
