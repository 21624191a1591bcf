/** The NATS flags of submit, status, jobs and cancel, and the client they make. */
import { DtrainClient } from '../client/index.js';
import type { NatsFlags } from '../service/nats-connect.js';

export type ClientFlags = NatsFlags;

export function clientOf(f: ClientFlags): Promise<DtrainClient> {
  return DtrainClient.connect({ servers: f.nats, token: f.token, creds: f.creds, user: f.user, password: f.password, name: 'dtrain cli' });
}
