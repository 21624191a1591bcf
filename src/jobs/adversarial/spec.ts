/**
 * The `adversarial` section of a `type: adversarial` job (Madry et al.'s
 * PGD adversarial training; FGSM from Goodfellow et al.). Defaults are the
 * standard MNIST settings (ε 0.3, 40 steps of 0.01 from a random start) and
 * the course's loss, clean and adversarial terms weighted 1 each.
 */
import { z } from 'zod';
import type { AttackOptions } from './attacks.js';
import { positiveInt } from '../../spec/parts.js';
import { classifierKeys, type SupervisedJob } from '../supervised/spec.js';

export const attackKind = z.enum(['pgd', 'fgsm']);
export type AttackKind = z.infer<typeof attackKind>;

/** The name of the workers' count of test samples still classified right under an attack. */
export const correctUnder = (kind: AttackKind) => `${kind}Correct`;

export const adversarialSchema = z
  .object({
    /** pgd: `steps` projected sign-gradient steps of `stepSize`; fgsm: one step of ε. */
    attack: attackKind.default('pgd'),
    /** L∞ radius of the perturbation. */
    epsilon: z.number().positive().default(0.3),
    steps: positiveInt.max(1000).default(40),
    stepSize: z.number().positive().default(0.01),
    /** PGD starts at x + Uniform(−ε, ε), keyed by (seed, step, global sample index). */
    randomStart: z.boolean().default(true),
    /** false: raise the true label's loss; random / next: lower the loss of a random wrong label / label + 1 (mod classes). */
    targeted: z.union([z.literal(false), z.enum(['random', 'next'])]).default(false),
    /** The minibatch loss is cleanWeight · L(clean) + advWeight · L(adversarial) (Madry et al.: 0 and 1). */
    cleanWeight: z.number().min(0).default(1),
    advWeight: z.number().min(0).default(1),
    /** Adversarial inputs stay in this range (default: the data's, [0, 1] for images; none for synthetic data). */
    clip: z.tuple([z.number(), z.number()]).optional(),
    /** Evaluation: PGD with this many steps (PGD-20), of evalStepSize (default 2.5 ε / evalSteps), from a random start. */
    evalSteps: positiveInt.max(1000).default(20),
    evalStepSize: z.number().positive().optional(),
    /** Which attacks the evaluation runs (clean accuracy is always measured). */
    evalAttacks: z.array(attackKind).min(1).default(['fgsm', 'pgd']),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.cleanWeight + a.advWeight === 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['advWeight'], message: 'cleanWeight and advWeight are both 0: there is no loss to train on' });
    if (new Set(a.evalAttacks).size !== a.evalAttacks.length) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['evalAttacks'], message: `lists an attack twice: [${a.evalAttacks}]` });
    if (a.clip && !(a.clip[0] < a.clip[1])) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['clip'], message: `[min, max] with min < max, got [${a.clip}]` });
  });

export type AdversarialSpec = z.infer<typeof adversarialSchema>;

/** Adversarial training: a supervised job whose minibatches are attacked on every worker. */
export const adversarialJobSchema = z
  .object({
    ...classifierKeys,
    type: z.literal('adversarial'),
    adversarial: adversarialSchema.default({}),
  })
  .strict();

export type AdversarialJob = SupervisedJob & { type: 'adversarial'; adversarial: AdversarialSpec };

/** The data range adversarial inputs are clipped to: the section's clip, else [0, 1] for images, else none. */
export function clipRange(a: AdversarialSpec, dataSource: string): [number, number] {
  return a.clip ?? (dataSource === 'fashion-mnist' ? [0, 1] : [-Infinity, Infinity]);
}

/** The attack that makes each training minibatch's adversarial term. */
export function trainingAttack(a: AdversarialSpec, dataSource: string): AttackOptions {
  return { attack: a.attack, epsilon: a.epsilon, steps: a.steps, stepSize: a.stepSize, randomStart: a.randomStart, targeted: a.targeted, clip: clipRange(a, dataSource) };
}

/** The evaluation PGD's step size: evalStepSize, else 2.5 ε / evalSteps (Madry et al.'s rule). */
export function evalStepSize(a: AdversarialSpec): number {
  return a.evalStepSize ?? (2.5 * a.epsilon) / a.evalSteps;
}

/** The evaluation's attacks by name, e.g. 'FGSM and PGD-20', for progress lines. */
export function evaluationNames(a: AdversarialSpec): string {
  return a.evalAttacks.map((k) => (k === 'pgd' ? `PGD-${a.evalSteps}` : 'FGSM')).join(' and ');
}

export type EvaluationAttacks = Partial<Record<AttackKind, AttackOptions>>;

/** The evaluation's attacks at the job's ε, those evalAttacks names: FGSM, and untargeted PGD-evalSteps from a random start. */
export function evaluationAttacks(a: AdversarialSpec, dataSource: string): EvaluationAttacks {
  const clip = clipRange(a, dataSource);
  const common = { epsilon: a.epsilon, targeted: false as const, clip };
  const all: Record<AttackKind, AttackOptions> = {
    fgsm: { ...common, attack: 'fgsm', steps: 1, stepSize: a.epsilon, randomStart: false },
    pgd: { ...common, attack: 'pgd', steps: a.evalSteps, stepSize: evalStepSize(a), randomStart: true },
  };
  return Object.fromEntries(a.evalAttacks.map((k) => [k, all[k]]));
}
