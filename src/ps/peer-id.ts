/**
 * The identity a worker's connection to a ps shard carries: its control
 * identity and its rank. The coordinator lists the job's in psStart, so a
 * shard serves those connections alone (anyone else who reaches its socket,
 * in a cluster without a key, is dropped unheard).
 */
export function shardPeerId(identity: string, rank: number): string {
  return `${identity}:rank${rank}`;
}
