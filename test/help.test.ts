/**
 * Every command's --help lists its exit codes (before, 5 of 12 did not),
 * and the codes it lists for a bad job id and an unreachable service are
 * the codes it exits with.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const COMMANDS = ['run', 'coordinator', 'worker', 'ps', 'sample', 'attack', 'submit', 'status', 'jobs', 'cancel', 'backends', 'keys generate', 'schema job'];

describe('--help', () => {
  it('names every command of dtrain --help (so that this list cannot fall behind)', async () => {
    const r = await runCli(['--help']);
    const listed = [...r.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
    expect(listed.sort()).toEqual(COMMANDS.map((c) => c.split(' ')[0]).sort());
  });

  for (const command of COMMANDS) {
    it(`dtrain ${command} --help lists the exit codes`, async () => {
      const r = await runCli([...command.split(' '), '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Exit codes: 0 /);
    });
  }

  it('the listed codes hold: a bad job id is 2, an unreachable service 1', async () => {
    expect((await runCli(['status', 'bad id!'])).code).toBe(2);
    expect((await runCli(['cancel', 'bad id!'])).code).toBe(2);
    // Port 1 on loopback: nothing listens there.
    const r = await runCli(['jobs', '--nats', 'nats://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach NATS/);
  });
});
