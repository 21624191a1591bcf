/** A worker's or ps shard's join, sent now and again every JOIN_EVERY_MS until the caller clears the timer (the job started or stopped). */
export const JOIN_EVERY_MS = 1000;

export function repeatJoin(send: () => Promise<void>): NodeJS.Timeout {
  let pending = false;
  const once = () => {
    if (pending) return; // a send still waits for the coordinator: do not pile joins up behind it
    pending = true;
    send()
      .catch(() => undefined)
      .finally(() => (pending = false));
  };
  once();
  return setInterval(once, JOIN_EVERY_MS);
}
