/** `dtrain keys generate FILE`. */
import { publicKeyOf, writeKeyFile } from '../wire/cluster-key.js';

export function keysGenerateCommand(file: string): number {
  writeKeyFile(file);
  process.stdout.write(`wrote a cluster key to ${file} (mode 600; public key ${publicKeyOf(file)}): copy it to every host and start each process with --key ${file}\n`);
  return 0;
}
