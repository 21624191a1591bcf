/**
 * The job file's `data` section: where the samples come from. File paths
 * are relative to the job file (job-file.ts resolves them when it loads it).
 */
import { z } from 'zod';

import { positiveInt } from './parts.js';

export const DEFAULT_FASHION_MNIST_PATH = '/usr/share/datasets/fashion-mnist';

/**
 * The share of the training samples held out (by the job seed) as a
 * validation split: the periodic evaluations (train.evalEvery) use it, the
 * final one the test split. Absent: both use the test split.
 */
const validation = z.number().gt(0).lt(1).optional();

const fashionMnist = z
  .object({
    source: z.literal('fashion-mnist'),
    validation,
    /** Folder holding the four IDX files (gzipped or not). */
    path: z.string().min(1).default(DEFAULT_FASHION_MNIST_PATH),
    /** Use only the first N training samples. */
    limit: positiveInt.optional(),
    /** Evaluate on only the first N test samples (default: the whole test set). */
    testLimit: positiveInt.optional(),
  })
  .strict();

const synthetic = z
  .object({
    source: z.literal('synthetic'),
    validation,
    /**
     * blobs: Gaussian clusters; spirals: interleaved arms (2 features only);
     * ring8, grid25: the 2-D mixtures of GAN papers (8 modes on a circle,
     * a 5×5 grid; features 2, classes = the modes).
     */
    kind: z.enum(['blobs', 'spirals', 'ring8', 'grid25']),
    /** Training samples; a test split of a fifth of this size is drawn beside it. */
    samples: positiveInt.default(2000),
    features: positiveInt.default(2),
    classes: z.number().int().min(2).default(3),
    /** Standard deviation of the noise added to each point (default 0.5; ring8 0.02, grid25 0.05). */
    noise: z.number().nonnegative().optional(),
  })
  .strict();

/** The share of the training file(s) held out for evaluation when no test file is given (drawn by the job seed). */
const testFraction = z.number().gt(0).lt(1);
const file = z.string().min(1);
const column = z.union([z.string().min(1), z.number().int().nonnegative()]);

const csv = z
  .object({
    source: z.literal('csv'),
    validation,
    /** The training rows. */
    path: file,
    /**
     * The label column: its name (needs a header) or its index from 0. String
     * labels become classes in sorted order; numbers must be whole,
     * 0…classes−1. With train.loss mse, real-valued targets: one column or a
     * list of them.
     */
    label: z.union([column, z.array(column).min(1)]),
    /** The feature columns, by name or index (default: every column but the label). Every cell must be a number. */
    features: z.array(column).min(1).optional(),
    /** Whether the first line names the columns. */
    header: z.boolean().default(true),
    delimiter: z.string().length(1).default(','),
    /** The evaluation rows, same columns (default: testFraction of path's rows). */
    testPath: file.optional(),
    testFraction: testFraction.optional(),
  })
  .strict();

const npy = z
  .object({
    source: z.literal('npy'),
    validation,
    /** NumPy .npy arrays: features [N, …] (any numeric dtype) and labels [N] (whole numbers 0…classes−1). */
    x: file,
    y: file,
    testX: file.optional(),
    testY: file.optional(),
    testFraction: testFraction.optional(),
  })
  .strict();

const images = z
  .object({
    source: z.literal('images'),
    validation,
    /** One sub-folder per class, holding PNG or JPEG files; classes in sorted folder-name order. */
    path: file,
    /** The same layout for evaluation (default: testFraction of path's images). */
    testPath: file.optional(),
    testFraction: testFraction.optional(),
    /** [height, width]: every image is resized to it (bilinear). */
    size: z.tuple([positiveInt, positiveInt]),
    /** 1: grey (luma), 3: RGB; an alpha channel is dropped. */
    channels: z.union([z.literal(1), z.literal(3)]).default(3),
  })
  .strict();

const moduleSource = z
  .object({
    source: z.literal('module'),
    validation,
    /** An ES module whose default export returns {train, test, featureShape, classes}, train and test being {length, read(indices)} (README: Your own model and data). */
    module: file,
    /** Passed to the module's default export as `options`. */
    options: z.record(z.unknown()).default({}),
  })
  .strict();

export const dataSchema = z.discriminatedUnion('source', [fashionMnist, synthetic, csv, npy, images, moduleSource]);

export type DataSpec = z.infer<typeof dataSchema>;

/** The keys of a data section that name files, relative to the job file. */
export const DATA_FILE_KEYS = ['path', 'testPath', 'x', 'y', 'testX', 'testY', 'module'] as const;

/** What the schema cannot say of a data section. */
export function checkData(data: DataSpec, issue: (path: (string | number)[], message: string) => void): void {
  if ('testPath' in data && data.testPath !== undefined && data.testFraction !== undefined) issue(['data', 'testFraction'], 'give testPath or testFraction, not both');
  if (data.source === 'npy') {
    if ((data.testX === undefined) !== (data.testY === undefined)) issue(['data', data.testX === undefined ? 'testX' : 'testY'], 'testX and testY go together');
    if (data.testX !== undefined && data.testFraction !== undefined) issue(['data', 'testFraction'], 'give testX and testY or testFraction, not both');
  }
}
