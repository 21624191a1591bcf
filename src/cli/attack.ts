/** dtrain attack: a saved model's accuracy under FGSM and/or PGD. */
import { Option } from 'commander';
import { attackCommand } from '../commands/attack.js';
import { BACKEND_CHOICES, boundedInt, type CommandDefinition, logLevelOption, nonnegInt, positiveInt, positiveNumber, progressOptions } from './options.js';

export const defineAttack: CommandDefinition = (program, exit) => {
  const attack = program
    .command('attack')
    .description("a saved model's test accuracy under FGSM and/or PGD-k attacks at ε, the test set spread over local worker processes; writes summary.json and a gallery of attacked images")
    .requiredOption('-m, --model <dir>', 'the output folder of a supervised or adversarial job (holding model/), or a model folder')
    .requiredOption('-e, --epsilon <ε>', 'L∞ radius of the perturbation, in data units (pixels in [0, 1] for fashion-mnist)', positiveNumber('--epsilon'))
    .option('--data <source>', "fashion-mnist, a folder of Fashion-MNIST IDX files, or a job file whose data and seed are used (default: the run's job.json)")
    .addOption(new Option('-a, --attack <kind>', 'the attack: pgd, fgsm, or both').choices(['pgd', 'fgsm', 'both']).default('pgd'))
    .option('-k, --steps <k>', 'PGD steps', boundedInt('--steps', 1, 1000), 20)
    .option('--step-size <η>', 'PGD step size (default 2.5 ε / steps)', positiveNumber('--step-size'))
    .option('-w, --workers <n>', 'worker processes that share the test set', positiveInt('--workers'), 1)
    .addOption(new Option('--backend <name>', 'tfjs backend of the workers').choices(BACKEND_CHOICES).default('auto'))
    .option('--limit <n>', 'fashion-mnist: attack only the first n test images', positiveInt('--limit'))
    .option('--seed <n>', "seed of PGD's random starts (default: the run's seed)", nonnegInt('--seed'))
    .option('-o, --out <dir>', 'output folder (default DIR/attack-<attack>-eps<ε>)')
    .option('--overwrite', 'replace an earlier attack run in the output folder (by default that is an error)');
  progressOptions(attack)
    .addOption(logLevelOption())
    .addHelpText(
      'after',
      `
Examples:
  dtrain attack --model runs/fashion-mnist-mlp --epsilon 0.1 --workers 2
  dtrain attack --model runs/fashion-mnist-pgd --epsilon 0.1 --attack both --steps 40
  dtrain attack --model my-model/ --data fashion-mnist --epsilon 0.05 --limit 1000

PGD starts from x + Uniform(−ε, ε), keyed by (seed, test index), and takes k
steps x ← clip(Proj_ε(x + η · sign ∇ₓ loss)); FGSM is x + ε · sign ∇ₓ loss.
Both are untargeted and keep images in [0, 1]. The model runs in inference
mode (batch-norm with its moving statistics, no dropout).
OUT/summary.json holds {adversarial: {epsilon, clean, fgsm, pgd, pgdSteps,
pgdStepSize}}; for images OUT/gallery.png shows the first 8 test images,
their perturbations and the attacked images with the model's predictions.
Exit codes: 0 done, 1 failed, 2 invalid flags or model, 130 interrupted.`,
    )
    .action(async (flags) => exit(await attackCommand(flags)));
};
