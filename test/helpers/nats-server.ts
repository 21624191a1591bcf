/**
 * A real nats-server (Debian's, 2.9.10) with JetStream, listening on a free
 * port of 127.0.0.1 and storing in a temp folder. `stop` kills it by pid and
 * removes the folder; `restart` keeps the folder and the port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './cli.js';

export interface NatsServer {
  url: string;
  pid: number;
  storeDir: string;
  /** Kills the server (SIGKILL) and starts it again on the same port and store. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const NATS_SERVER = '/usr/sbin/nats-server';
export const hasNatsServer = existsSync(NATS_SERVER);

/**
 * `jetstream: false` starts a server without JetStream (for the error a user gets then); `token` makes it require that token.
 * `config`: a configuration file's text (its `listen` and `store_dir` lines are replaced: 127.0.0.1, a free port, the
 * temp folder), read with `env` in the server's environment.
 */
export async function startNatsServer(o: { jetstream?: boolean; token?: string; config?: string; env?: Record<string, string> } = {}): Promise<NatsServer> {
  const tmp = tempDir('dtrain-nats-');
  let configArgs: string[] = [];
  if (o.config !== undefined) {
    const text = o.config.replace(/^listen:.*$/m, '').replace(/store_dir:.*$/m, `store_dir: ${JSON.stringify(join(tmp.dir, 'store'))}`);
    if (!text.includes(tmp.dir)) throw new Error('the configuration has no store_dir line to replace');
    writeFileSync(join(tmp.dir, 'nats-server.conf'), text);
    configArgs = ['-c', join(tmp.dir, 'nats-server.conf')];
  }
  let child: ChildProcess;
  let port = -1;
  const launch = async () => {
    const js = o.jetstream === false || o.config !== undefined ? [] : ['-js', '-sd', tmp.dir];
    const auth = o.token === undefined ? [] : ['--auth', o.token];
    child = spawn(NATS_SERVER, [...configArgs, '-a', '127.0.0.1', '-p', String(port), ...js, ...auth], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...o.env } });
    port = await new Promise<number>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`nats-server did not start in 10 s:\n${log}`)), 10_000);
      child.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        const m = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log);
        if (m && /Server is ready/.test(log)) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code}):\n${log}`));
      });
    });
    child.removeAllListeners('exit');
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get pid() {
      return child.pid!;
    },
    storeDir: tmp.dir,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      tmp.cleanup();
    },
  };
}
