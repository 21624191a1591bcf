/** The conformance suite every Hub transport passes: peers addressed by id, in order, unknown peers dropped. */
import { describe, expect, it } from 'vitest';
import { ClosedError, type Channel, type Hub } from '../../src/wire/transport.js';

export type HubFactory = () => Promise<{ hub: Hub; connect(id: string): Channel; close(): Promise<void> | void }>;

export function hubConformance(name: string, factory: HubFactory) {
  describe(`${name}: Hub conformance`, () => {
    it('tells peers apart and answers each one in order', async () => {
      const { hub, connect, close } = await factory();
      try {
        const a = connect('peer-a');
        const b = connect('peer-b');
        for (let i = 0; i < 5; i++) {
          await a.send([Buffer.from(`a${i}`)]);
          await b.send([Buffer.from(`b${i}`)]);
        }
        const seen: Record<string, string[]> = { 'peer-a': [], 'peer-b': [] };
        for (let i = 0; i < 10; i++) {
          const { peer, frames } = await hub.receive();
          seen[peer].push(Buffer.from(frames[0]).toString());
        }
        expect(seen).toEqual({ 'peer-a': ['a0', 'a1', 'a2', 'a3', 'a4'], 'peer-b': ['b0', 'b1', 'b2', 'b3', 'b4'] });
        await hub.send('peer-b', [Buffer.from('to b'), Buffer.from([1, 2, 3])]);
        await hub.send('nobody', [Buffer.from('lost')]); // dropped, not an error
        await hub.send('peer-a', [Buffer.from('to a')]);
        expect(Buffer.from((await a.receive())[0]).toString()).toBe('to a');
        const got = await b.receive();
        expect(Buffer.from(got[0]).toString()).toBe('to b');
        expect(Array.from(got[1])).toEqual([1, 2, 3]);
        a.close();
        b.close();
      } finally {
        await close();
      }
    });
    it('rejects a pending receive with ClosedError when closed', async () => {
      const { hub, close } = await factory();
      const pending = hub.receive();
      hub.close();
      await expect(pending).rejects.toBeInstanceOf(ClosedError);
      await close();
    });
  });
}
