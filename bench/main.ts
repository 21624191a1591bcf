/** `npm run bench -- NAME [options]`: runs one benchmark, printing ratios against a baseline measured in the same run. */
import { benchAdversarial } from './adversarial.js';
import { benchAllreduce } from './allreduce.js';
import { benchChaos } from './chaos.js';
import { benchCompute } from './compute.js';
import { benchGpu } from './gpu.js';
import { benchObservability } from './observability.js';
import { benchOptimizers } from './optimizers.js';
import { benchRecovery } from './recovery.js';
import { benchScaling } from './scaling.js';
import { benchSecurity } from './security.js';
import { benchSyncbn } from './syncbn.js';

const benches: Record<string, (args: string[]) => Promise<void>> = { adversarial: benchAdversarial, allreduce: benchAllreduce, chaos: benchChaos, compute: benchCompute, gpu: benchGpu, observability: benchObservability, optimizers: benchOptimizers, recovery: benchRecovery, scaling: benchScaling, security: benchSecurity, syncbn: benchSyncbn };

const [name, ...args] = process.argv.slice(2);
const run = benches[name ?? ''];
if (!run) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]`);
  process.exit(2);
}
await run(args);
process.exit(0);
