/**
 * What an adversarial job adds to the supervised step program: each
 * worker attacks its own shard with the current parameters (the same on
 * every replica), and the step's loss is
 *   cleanWeight · Σ L(clean batch) + advWeight · Σ L(adversarial batch),
 * two training passes under one gradient. Batch-norm therefore sees the
 * clean and the adversarial batch as two batches (each its own statistics,
 * both committed to the moving averages, in that order), the way the loss
 * formula writes two terms; the attack itself runs the model in inference
 * mode. Random starts and targets are keyed by (seed, step, position in the
 * global batch), so N workers equal one process.
 */
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { StepCommand } from '../../worker/step-program.js';
import type { PassMaker, TrainingPass } from '../supervised/program.js';
import { attack, EVAL_PURPOSE, type AttackOptions } from './attacks.js';
import { correctUnder, evaluationAttacks, trainingAttack, type AdversarialJob, type AttackKind, type EvaluationAttacks } from './spec.js';

export class Adversary implements PassMaker {
  private readonly train: AttackOptions;
  private readonly evaluation: EvaluationAttacks;

  constructor(
    private readonly spec: AdversarialJob,
    private readonly shape: number[],
    private readonly classes: number,
  ) {
    this.train = trainingAttack(spec.adversarial, spec.data.source);
    this.evaluation = evaluationAttacks(spec.adversarial, spec.data.source);
  }

  /** How many training passes a step makes: the empty-shard replay needs it. */
  get passCount(): number {
    return (this.spec.adversarial.cleanWeight > 0 ? 1 : 0) + (this.spec.adversarial.advWeight > 0 ? 1 : 0);
  }

  passes(model: LayersModel, x: Float32Array, y: Int32Array, cmd: StepCommand): TrainingPass[] {
    const { cleanWeight, advWeight } = this.spec.adversarial;
    const out: TrainingPass[] = [];
    if (cleanWeight > 0) out.push({ x, weight: cleanWeight, scored: advWeight === 0 });
    if (advWeight > 0) {
      const adv = attack(model, x, y, this.shape, this.classes, this.train, { seed: this.spec.seed, step: cmd.step, offset: cmd.offset ?? 0 });
      out.push({ x: adv, weight: advWeight, scored: true });
    }
    return out;
  }

  /** The evaluation's adversarial inputs (FGSM, PGD-k, as evalAttacks names) of test samples `first`, `first` + 1, …, keyed by their count's name. */
  evaluationInputs(model: LayersModel, x: Float32Array, y: Int32Array, first: number): Record<string, Float32Array> {
    const key = { seed: this.spec.seed, step: 0, offset: first, purpose: EVAL_PURPOSE };
    const out: Record<string, Float32Array> = {};
    for (const [kind, opts] of Object.entries(this.evaluation) as [AttackKind, AttackOptions][]) out[correctUnder(kind)] = attack(model, x, y, this.shape, this.classes, opts, key);
    return out;
  }
}
