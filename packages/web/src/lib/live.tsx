/**
 * The ledger's height as it grows: one stream of committed blocks (`client.blockEvents`) for the
 * whole app, reconnecting after a break, and passed on at most every two seconds so that a busy
 * chain does not make every screen reload on every block.
 */
import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import { client } from './api.js';

const THROTTLE_MS = 2000;
const RETRY_MS = [1000, 3000, 10_000, 30_000];

const Ctx = createContext<number | undefined>(undefined);

export function LiveHeightProvider({ children }: { children: ReactNode }) {
  const [height, setHeight] = useState<number>();
  useEffect(() => {
    const controller = new AbortController();
    let latest: number | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const publish = () => {
      timer = undefined;
      setHeight(latest);
    };
    const run = async () => {
      for (let attempt = 0; !controller.signal.aborted; attempt++) {
        try {
          for await (const b of client.blockEvents({}, { signal: controller.signal })) {
            attempt = 0;
            latest = b.height;
            timer ??= setTimeout(publish, THROTTLE_MS);
          }
        } catch {
          // The node went away or restarted: try again a little later.
        }
        if (controller.signal.aborted) return;
        await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]));
      }
    };
    void run();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, []);
  return <Ctx.Provider value={height}>{children}</Ctx.Provider>;
}

/** The latest committed height the stream announced, or undefined before the first new block. */
export function useLiveHeight(): number | undefined {
  return useContext(Ctx);
}
