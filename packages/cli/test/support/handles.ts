// A driver that remembers every fd and mapping made through it and not yet given back, so a test
// can run a command over it and check that the command closed all it opened (on a failure too).
import { wrapDriver, type Driver } from "@bpfkit/core";

export interface TrackedDriver {
  driver: Driver;
  /** What is still open, as `objGet 7`, `dup 9`, `mapMmap 2`: empty when all was given back. */
  open(): string[];
}

export function trackHandles(inner: Driver): TrackedDriver {
  const fds = new Map<number, string>();
  const mappings = new Map<number, string>();
  const fd = <A extends unknown[]>(name: string, call: (...a: A) => number) => (...a: A): number => {
    const r = call(...a);
    if (r >= 0) fds.set(r, name);
    return r;
  };
  const driver = wrapDriver(inner, {
    objGet: fd("objGet", inner.objGet.bind(inner)),
    mapGetFdById: fd("mapGetFdById", inner.mapGetFdById.bind(inner)),
    progGetFdById: fd("progGetFdById", inner.progGetFdById.bind(inner)),
    ...(inner.dup === undefined ? {} : { dup: fd("dup", (n: number) => inner.dup!(n)) }),
    ...(inner.btfGetFdById === undefined ? {} : { btfGetFdById: fd("btfGetFdById", (id: number) => inner.btfGetFdById!(id)) }),
    ...(inner.perfEventOpen === undefined ? {} : {
      perfEventOpen: fd("perfEventOpen", (a: Parameters<NonNullable<Driver["perfEventOpen"]>>[0]) => inner.perfEventOpen!(a)),
    }),
    close: (n) => {
      fds.delete(n);
      return inner.close(n);
    },
    ...(inner.mapMmap === undefined ? {} : {
      mapMmap: (...a: Parameters<NonNullable<Driver["mapMmap"]>>) => {
        const r = inner.mapMmap!(...a);
        if (r >= 0) mappings.set(r, "mapMmap");
        return r;
      },
      munmap: (m: number) => {
        const r = inner.munmap!(m);
        if (r === 0) mappings.delete(m);
        return r;
      },
    }),
  });
  return {
    driver,
    open: () => [...[...fds].map(([n, how]) => `${how} ${n}`), ...[...mappings].map(([m, how]) => `${how} ${m}`)],
  };
}
