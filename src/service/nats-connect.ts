/**
 * Connecting to NATS for service mode, with the errors a person can act on:
 * no server at the address, credentials refused, JetStream not enabled.
 */
import { readFileSync } from 'node:fs';
import { AuthorizationError, credsAuthenticator, type NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { errorMessage, ServiceError, UsageError } from '../util/errors.js';

export interface NatsFlags {
  /** nats://HOST:PORT (several may be given, comma-separated). */
  nats: string;
  token?: string;
  /** A NATS .creds file (user JWT and nkey seed). */
  creds?: string;
  /** A user of the NATS server's configuration, with its password. */
  user?: string;
  password?: string;
}

export const DEFAULT_NATS = 'nats://127.0.0.1:4222';

export interface Connected {
  nc: NatsConnection;
  jsm: JetStreamManager;
}

/**
 * Connects and checks that JetStream answers. `reconnect`: a long-running
 * coordinator keeps trying for ever after a lost connection; a command gives up.
 */
export async function connectNats(f: NatsFlags, name: string, reconnect = false): Promise<Connected> {
  if ([f.token, f.creds, f.user].filter((v) => v !== undefined).length > 1) throw new UsageError('give one of --token, --creds or --user, not several');
  if ((f.user === undefined) !== (f.password === undefined)) throw new UsageError('--user and --password go together');
  const servers = f.nats.split(',').map((s) => s.trim());
  for (const s of servers) if (!/^(nats|tls):\/\/[^/\s]+$/.test(s)) throw new UsageError(`--nats must look like nats://HOST:PORT, got ${s}`);
  let authenticator;
  if (f.creds !== undefined) {
    let creds: Uint8Array;
    try {
      creds = readFileSync(f.creds);
    } catch (err) {
      throw new UsageError(`cannot read --creds ${f.creds}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
    }
    authenticator = credsAuthenticator(creds);
  }
  let nc: NatsConnection;
  try {
    nc = await connect({ servers, name, token: f.token, user: f.user, pass: f.password, authenticator, maxReconnectAttempts: reconnect ? -1 : 10, waitOnFirstConnect: false });
  } catch (err) {
    if (err instanceof AuthorizationError) throw new ServiceError(`NATS at ${f.nats} refused the credentials: ${errorMessage(err)}`, { cause: err });
    throw new ServiceError(`cannot reach NATS at ${f.nats}: ${errorMessage(err)} (is nats-server running? start it with: nats-server -js)`, { cause: err });
  }
  try {
    return { nc, jsm: await jetstreamManager(nc) };
  } catch (err) {
    await nc.close();
    throw new ServiceError(`JetStream does not answer on ${f.nats}: ${errorMessage(err)} (start nats-server with -js, and a store: -sd DIR)`, { cause: err });
  }
}
