/** dtrain sample: a PNG of samples from a GAN run's generator. */
import { sampleCommand } from '../commands/sample.js';
import { boundedInt, type CommandDefinition, nonnegInt } from './options.js';

export const defineSample: CommandDefinition = (program, exit) => {
  program
    .command('sample')
    .description("draw samples from a GAN run's trained generator and write them as a PNG: a grid of images, or a scatter plot of 2-D points")
    .argument('<dir>', 'the output folder of a type: gan job (holding generator/), or a generator folder')
    .option('-n, --count <n>', 'how many samples', boundedInt('--count', 1, 4096), 64)
    .option('-o, --out <file>', 'the PNG to write (default DIR/samples/sample-seed<seed>.png)')
    .option('--seed <n>', 'seed of the latent noise; the same seed gives the same samples', nonnegInt('--seed'), 1)
    .option('--zoom <n>', 'draw each image pixel as n × n pixels', boundedInt('--zoom', 1, 16), 2)
    .addHelpText(
      'after',
      `
Examples:
  dtrain sample runs/gan-fashion-mnist-dcgan --count 64 --out grid.png
  dtrain sample runs/gan-ring8 --count 2000 --out ring8.png      # a scatter plot

The noise is z ~ N(0, I) from the seed; the generator runs in inference mode
(batch-norm with its moving statistics). With the job's seed and the default
zoom, the picture is the run's DIR/samples/final.png when --count is
gan.gridSamples.
Exit codes: 0 written, 1 sampling failed, 2 no generator in DIR or invalid flags.`,
    )
    .action(async (dir: string, flags) => exit(await sampleCommand(dir, flags)));
};
