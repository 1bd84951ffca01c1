// Mutants of the PERF_EVENT_ARRAY and perf event rules (group perf): drivers wrapped to break
// one rule each, named with the cases of cases/perf.ts that must catch it. They work from
// outside the driver, so on both the simulator and the kernel: a perf event's fd is told by
// OBJ_GET_INFO_BY_FD refusing it (it is no bpf object), its ring's mappings by the fd they came from.
import { decodeMapInfo, MAP_INFO_SIZE, wrapDriver, type BpfMapInfo, type Driver, type OptionalDriverMethodName } from "@bpfkit/core";
import type { Mutant } from "./mutants.js";

const EBADF = 9, EINVAL = 22, PEA = 4, PRESERVE_ELEMS = 0x800;
/** Offsets in struct perf_event_mmap_page. */
const DATA_HEAD = 1024, DATA_OFFSET = 1040;

/** What the perf cases need: events, and their rings mapped. */
const PERF: readonly OptionalDriverMethodName[] = ["perfEventOpen", "mapMmap", "mmapRead", "mmapWrite", "munmap"];

function infoOf(d: Driver, fd: number): BpfMapInfo | undefined {
  const b = new Uint8Array(MAP_INFO_SIZE);
  return d.objGetInfoByFd(fd, b) < 0 ? undefined : decodeMapInfo(b);
}

const isPerfArray = (d: Driver, fd: number) => infoOf(d, fd)?.type === PEA;
/** An open fd past stdio that OBJ_GET_INFO_BY_FD refuses: here, a perf event's. */
const isEventFd = (d: Driver, fd: number) => fd > 2 && infoOf(d, fd) === undefined;

/** A driver whose perf ring mappings are tracked by handle (with whether they are writable). */
function perfMappings(d: Driver, overrides: (rings: Map<number, boolean>) => Parameters<typeof wrapDriver>[1]): Driver {
  const rings = new Map<number, boolean>();
  const given = overrides(rings);
  return wrapDriver(d, {
    ...given,
    mapMmap(fd, length, writable, offset = 0) {
      const h = (given.mapMmap ?? d.mapMmap!.bind(d))(fd, length, writable, offset);
      if (typeof h === "number" && h >= 0) {
        if (isEventFd(d, fd)) rings.set(h, writable);
        else rings.delete(h);
      }
      return h;
    },
  });
}

/** Zeroes `dst`'s bytes that lie at `from..from+len` of the mapping, for a read at `offset`. */
function zeroRange(dst: Uint8Array, offset: number, from: number, len: number): void {
  for (let i = Math.max(from, offset); i < Math.min(from + len, offset + dst.length); i++) dst[i - offset] = 0;
}

export const perfMutants: readonly Mutant[] = [
  {
    name: "a PERF_EVENT_ARRAY refuses BPF_F_PRESERVE_ELEMS (EINVAL), as the other arrays do",
    caughtBy: ["arraymap.c fd_array_map_alloc_check: a PERF_EVENT_ARRAY"],
    wrap: (d) => wrapDriver(d, {
      mapCreate: (attr) => (attr.mapType === PEA && ((attr.mapFlags ?? 0) & PRESERVE_ELEMS) !== 0 ? -EINVAL : d.mapCreate(attr)),
    }),
  },
  {
    name: "a PERF_EVENT_ARRAY slot refuses a file that is no perf event with EINVAL (as a PROG_ARRAY does), not perf_event_get's EBADF",
    caughtBy: ["arraymap.c bpf_fd_array_map_update_elem, perf_event_fd_array_get_ptr"],
    needs: ["perfEventOpen"],
    wrap: (d) => wrapDriver(d, {
      mapUpdateElem(fd, key, value, flags) {
        const r = d.mapUpdateElem(fd, key, value, flags);
        return r === -EBADF && isPerfArray(d, fd) ? -EINVAL : r;
      },
    }),
  },
  {
    name: "a PERF_EVENT_ARRAY's lookup answers an empty slot's ENOENT (as a PROG_ARRAY's), not ENOTSUPP",
    caughtBy: ["syscall.c, arraymap.c: a PERF_EVENT_ARRAY's lookup is ENOTSUPP"],
    needs: ["perfEventOpen"],
    wrap: (d) => wrapDriver(d, {
      mapLookupElem: (fd, key, value, flags) => (isPerfArray(d, fd) && flags === undefined ? -2 : d.mapLookupElem(fd, key, value, flags)),
    }),
  },
  {
    name: "closing a PERF_EVENT_ARRAY's fd empties every slot, whichever file filled it and whatever BPF_F_PRESERVE_ELEMS says",
    caughtBy: ["arraymap.c perf_event_fd_array_release"],
    needs: ["perfEventOpen"],
    wrap: (d) => wrapDriver(d, {
      close(fd) {
        const i = infoOf(d, fd);
        if (i?.type === PEA) for (let k = 0; k < i.maxEntries; k++) d.mapDeleteElem(fd, Uint8Array.of(k, k >> 8, k >> 16, k >>> 24));
        return d.close(fd);
      },
    }),
  },
  {
    name: "perfEventOpen of a CPU past the possible ones opens an event on CPU 0 instead of EINVAL",
    caughtBy: ["core.c perf_event_open: a BPF output event opens on every possible CPU"],
    needs: ["perfEventOpen"],
    wrap: (d) => wrapDriver(d, {
      perfEventOpen: (attr) => d.perfEventOpen!(attr.cpu >= d.possibleCpus ? { ...attr, cpu: 0 } : attr),
    }),
  },
  {
    name: "an event's ring maps with any number of data pages, rounded down to a power of 2, instead of EINVAL",
    caughtBy: ["core.c perf_mmap: an event maps at offset 0 only"],
    needs: PERF,
    wrap: (d) => wrapDriver(d, {
      mapMmap(fd, length, writable, offset = 0) {
        const r = d.mapMmap!(fd, length, writable, offset);
        if (r !== -EINVAL || offset !== 0 || length === 0 || !isEventFd(d, fd)) return r;
        const page = d.pageSize ?? 4096;
        const data = Math.ceil(length / page) - 1;
        return d.mapMmap!(fd, (1 + 2 ** Math.floor(Math.log2(data))) * page, writable, 0);
      },
    }),
  },
  {
    name: "a write through a read-only mapping of an event's ring is accepted (and lost) instead of EACCES",
    caughtBy: ["core.c perf_mmap: an event maps at offset 0 only"],
    needs: PERF,
    wrap: (d) => perfMappings(d, (rings) => ({
      mmapWrite: (h, offset, src) => (rings.get(h) === false ? 0 : d.mmapWrite!(h, offset, src)),
    })),
  },
  {
    name: "the header page's data_offset reads 0 (the data taken to follow the header fields) instead of one page",
    caughtBy: ["core.c perf_event_init_userpage: the header page"],
    needs: PERF,
    wrap: (d) => perfMappings(d, (rings) => ({
      mmapRead(h, offset, dst) {
        const r = d.mmapRead!(h, offset, dst);
        if (r === 0 && rings.has(h)) zeroRange(dst, offset, DATA_OFFSET, 8);
        return r;
      },
    })),
  },
  {
    name: "data_head is never published: the header page reads 0 however many records were written",
    caughtBy: ["core.c perf_prepare_sample, bpf_trace.c bpf_perf_event_output", "ring_buffer.c perf_output_begin: records fill the ring"],
    needs: PERF,
    wrap: (d) => perfMappings(d, (rings) => ({
      mmapRead(h, offset, dst) {
        const r = d.mmapRead!(h, offset, dst);
        if (r === 0 && rings.has(h)) zeroRange(dst, offset, DATA_HEAD, 8);
        return r;
      },
    })),
  },
];
