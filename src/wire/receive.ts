/** The receive loop every hub owner runs: valid messages in order, until the hub closes. */
import { errorMessage } from '../util/errors.js';
import { ClosedError, type Hub } from './transport.js';
import { parseMessage, type Message } from './messages.js';

/**
 * Yields each valid message with its peer. A malformed one goes to `onDrop`
 * (peer, reason) and is skipped; closing the hub ends the loop; any other
 * socket error is thrown.
 */
export async function* hubMessages(hub: Hub, onDrop: (peer: string, reason: string) => void): AsyncGenerator<{ peer: string; message: Message }> {
  for (;;) {
    let got;
    try {
      got = await hub.receive();
    } catch (err) {
      if (err instanceof ClosedError) return;
      throw err;
    }
    let message: Message;
    try {
      message = parseMessage(got.frames);
    } catch (err) {
      onDrop(got.peer, errorMessage(err));
      continue;
    }
    yield { peer: got.peer, message };
  }
}
