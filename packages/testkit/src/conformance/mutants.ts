// Mutants: drivers wrapped to break exactly one kernel rule each (issue 5). Each names the
// cases that must catch it; the mutant tests run those cases on the mutant (some must fail)
// and on the unmutated driver (all must pass), so "caught" means the suite saw the rule.
import {
  decodeMapInfo, isHashMapType, isPerCpuMapType, MAP_INFO_SIZE, perCpuSlotSize, RENAME_NOREPLACE, userValueSize, wrapDriver,
  type BatchResult, type BpfMapInfo, type Driver, type OptionalDriverMethodName,
} from "@bpfkit/core";
import { hex } from "./models/htab.js";
import { perfMutants } from "./mutants-perf.js";

/** A driver wrapper that breaks exactly one kernel rule, and the conformance cases that must notice. */
export interface Mutant {
  /** The rule it breaks, in the kernel's words. */
  readonly name: string;
  /** Substrings of the case names that must catch it (ConformanceOptions.only). */
  readonly caughtBy: readonly string[];
  /** The given driver with the rule broken; every other call goes through unchanged. */
  wrap(driver: Driver): Driver;
  /**
   * Optional Driver methods the broken rule lives in: on a driver without them the catching
   * cases skip, so there is nothing to catch (the mutant tests skip it, saying so).
   */
  readonly needs?: readonly OptionalDriverMethodName[];
}

const ENOENT = 2, EBADF = 9, E2BIG = 7, EEXIST = 17, EBUSY = 16, EINVAL = 22, ENOSPC = 28, EPERM = 1, EACCES = 13;
/** f_flags' access mode bits, and the read-write mode. */
const O_ACCMODE = 3, O_RDWR = 2;
const HASH = 1, ARRAY = 2, PROG_ARRAY = 3, PERCPU_ARRAY = 6, LRU_HASH = 9, LRU_PERCPU_HASH = 10, LPM_TRIE = 11;
const QUEUE = 22, STACK = 23, RINGBUF = 27, BLOOM_FILTER = 30, USER_RINGBUF = 31, BPF_EXIST = 2;
const PAGE = 4096;
const NO_KEY = new Uint8Array(0);
const NO_PREALLOC = 1, RDONLY = 8, NOEXIST = 1;

function infoOf(d: Driver, fd: number): BpfMapInfo | undefined {
  const b = new Uint8Array(MAP_INFO_SIZE);
  return d.objGetInfoByFd(fd, b) < 0 ? undefined : decodeMapInfo(b);
}

function valueBuf(d: Driver, i: BpfMapInfo): Uint8Array {
  return new Uint8Array(userValueSize(i.type, i.valueSize, d.possibleCpus));
}

/** Every key in walk order, with its value. */
function dumpAll(d: Driver, fd: number, i: BpfMapInfo): [Uint8Array, Uint8Array][] {
  const out: [Uint8Array, Uint8Array][] = [];
  let prev: Uint8Array | null = null;
  for (;;) {
    const k = new Uint8Array(i.keySize);
    if (d.mapGetNextKey(fd, prev, k) < 0) return out;
    const v = valueBuf(d, i);
    d.mapLookupElem(fd, k, v);
    out.push([k, v]);
    prev = k;
  }
}

/** The optional methods the mmap mutants break a rule of. */
const MMAP: readonly OptionalDriverMethodName[] = ["mapMmap", "mmapRead", "mmapWrite", "munmap"];

/** The optional methods the BTF mutants break a rule of. */
const BTF: readonly OptionalDriverMethodName[] = ["btfLoad", "btfGetFdById", "btfGetNextId", "btfGetInfo"];

/** What the mmapAtomic mutants need: the mappings and the atomics on them. */
const ATOMIC: readonly OptionalDriverMethodName[] = [...MMAP, "mmapAtomic"];

// ---- BTF (group btf), around a driver with the btf methods ----
const btfMutants: readonly Mutant[] = [
  {
    name: "bpf_btf_info writes all of data, zeroing the bytes past btf_size",
    caughtBy: ["btf.c BTF_LOAD: a valid blob"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      btfGetInfo(fd, data) {
        const r = d.btfGetInfo!(fd, data);
        if (typeof r === "object" && data !== null) data.fill(0, Math.min(r.btfSize, data.length));
        return r;
      },
    }),
  },
  {
    name: "BTF_LOAD ignores a longer header's tail (a non-zero tail loads instead of E2BIG)",
    caughtBy: ["btf.c btf_parse_hdr"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      btfLoad(attr) {
        const b = attr.btf;
        const hdrLen = b.length >= 8 ? new DataView(b.buffer, b.byteOffset, b.length).getUint32(4, true) : 0;
        if (hdrLen <= 24 || hdrLen > b.length) return d.btfLoad!(attr);
        const copy = b.slice();
        copy.fill(0, 24, hdrLen);
        return d.btfLoad!({ ...attr, btf: copy });
      },
    }),
  },
  {
    name: "BTF_LOAD's log is not copied back into logBuf",
    caughtBy: ["btf.c btf_parse, log.c"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      btfLoad: (attr) => d.btfLoad!(attr.logBuf === undefined ? attr : { ...attr, logBuf: new Uint8Array(attr.logBuf.length) }),
    }),
  },
  {
    name: "bpf_btf_info of a map's fd answers (the map's own info read as BTF info) instead of EINVAL",
    caughtBy: ["syscall.c bpf_obj_get_info_by_fd with bpf_btf_info"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      btfGetInfo(fd, data) {
        const i = infoOf(d, fd);
        return i === undefined ? d.btfGetInfo!(fd, data) : { id: i.id, btfSize: i.keySize, name: i.name, kernelBtf: false };
      },
    }),
  },
  {
    name: "MAP_CREATE drops btf_fd and the type ids (every map made without BTF)",
    caughtBy: ["syscall.c map_create with BTF", "syscall.c map_create, map_check_btf"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      mapCreate: (attr) => d.mapCreate({ ...attr, btfFd: 0, btfKeyTypeId: 0, btfValueTypeId: 0 }),
    }),
  },
  {
    name: "a map does not hold its BTF: the BTF id is gone once its fd is closed",
    caughtBy: ["btf.c btf_put: a map holds its BTF"],
    needs: BTF,
    wrap: (d) => {
      const heldByMap = new Set<number>();
      return wrapDriver(d, {
        btfGetFdById: (id) => (heldByMap.has(id) ? -ENOENT : d.btfGetFdById!(id)),
        close(fd) {
          const r = d.btfGetInfo!(fd, null);
          if (typeof r === "object") heldByMap.add(r.id);
          return d.close(fd);
        },
      });
    },
  },
  {
    name: "lookup-and-delete and the lookup batches drop their flags (BPF_F_LOCK and stray bits passed as 0)",
    caughtBy: ["§btf-check.11"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      mapLookupAndDeleteElem: (fd, k, v) => d.mapLookupAndDeleteElem(fd, k, v, 0),
      mapLookupBatch: (fd, i, o, k, v, n) => d.mapLookupBatch(fd, i, o, k, v, n, 0),
      mapLookupAndDeleteBatch: (fd, i, o, k, v, n) => d.mapLookupAndDeleteBatch(fd, i, o, k, v, n, 0),
    }),
  },
];

// ---- program BTF (group prog-btf), around a driver with the btf methods ----

/** `attr` with each record of `recs` (at `at` in it, `rec` bytes each) passed through `edit`. */
function editRecords(recs: Uint8Array | undefined, recSize: number | undefined, known: number, edit: (copy: Uint8Array, at: number, i: number) => void): Uint8Array | undefined {
  if (recs === undefined) return undefined;
  const rec = recSize ?? known;
  if (rec === 0 || recs.length % rec !== 0) return recs;
  const copy = recs.slice();
  for (let i = 0; i * rec < copy.length; i++) edit(copy, i * rec, i);
  return copy;
}

const progBtfMutants: readonly Mutant[] = [
  {
    name: "PROG_LOAD drops prog_btf_fd, func_info and line_info (every program loaded without BTF)",
    caughtBy: ["syscall.c bpf_prog_get_info_by_fd: btf_id", "verifier.c check_btf_func_early: func_info_rec_size"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      progLoad: ({ progBtfFd: _f, funcInfo: _fi, funcInfoRecSize: _fr, lineInfo: _li, lineInfoRecSize: _lr, ...rest }) => d.progLoad(rest),
    }),
  },
  {
    name: "func_info's bytes past struct bpf_func_info are not checked (a nonzero tail loads instead of E2BIG)",
    caughtBy: ["verifier.c check_btf_func_early: func_info_rec_size"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      progLoad: (attr) => d.progLoad({ ...attr, funcInfo: editRecords(attr.funcInfo, attr.funcInfoRecSize, 8, (c, at) => c.fill(0, at + 8, at + (attr.funcInfoRecSize ?? 8))) }),
    }),
  },
  {
    name: "the first func_info record may start past insn 0",
    caughtBy: ["verifier.c check_btf_func_early and check_btf_func"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      progLoad: (attr) => d.progLoad({ ...attr, funcInfo: editRecords(attr.funcInfo, attr.funcInfoRecSize, 8, (c, at, i) => { if (i === 0) c.fill(0, at, at + 4); }) }),
    }),
  },
  {
    name: "line_info may name an ld_imm64's second half (its records there are dropped instead of EINVAL)",
    caughtBy: ["verifier.c check_btf_line"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      progLoad(attr) {
        const rec = attr.lineInfoRecSize ?? 16;
        const li = attr.lineInfo;
        if (li === undefined || rec < 4 || li.length % rec !== 0) return d.progLoad(attr);
        const dv = new DataView(li.buffer, li.byteOffset, li.length);
        const kept: Uint8Array[] = [];
        for (let at = 0; at < li.length; at += rec) {
          const off = dv.getUint32(at, true);
          if (!(8 * off < attr.insns.length && attr.insns[8 * off] === 0)) kept.push(li.subarray(at, at + rec));
        }
        const out = new Uint8Array(kept.length * rec);
        kept.forEach((k, i) => out.set(k, i * rec));
        return d.progLoad({ ...attr, lineInfo: out });
      },
    }),
  },
  {
    name: "the instructions are checked before the program's BTF (check_btf_info_early after add_subprog_and_kfunc and resolve_pseudo_ldimm64)",
    caughtBy: ["verifier.c bpf_check: the BTF checks' place", "verifier.c check_btf_info_early"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      progLoad(attr) {
        if (attr.funcInfo === undefined && attr.lineInfo === undefined) return d.progLoad(attr);
        const bare = d.progLoad({ progType: attr.progType, insns: attr.insns, license: attr.license, expectedAttachType: attr.expectedAttachType });
        if (bare < 0) return bare;
        d.close(bare);
        return d.progLoad(attr);
      },
    }),
  },
  {
    name: "a tail call outside the main program is let through without BTF (check_abnormal_return skipped)",
    caughtBy: ["verifier.c add_subprog_and_kfunc, check_subprogs, check_btf_info"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      progLoad(attr) {
        if (attr.funcInfo !== undefined && attr.funcInfo.length > 0) return d.progLoad(attr);
        // Each bpf_tail_call (call of helper 12) becomes r0 = 0: no function holds one any more.
        const insns = attr.insns.slice();
        for (let at = 0; at + 8 <= insns.length; at += 8) {
          const imm = new DataView(insns.buffer, at + 4, 4).getInt32(0, true);
          if (insns[at] === 0x85 && insns[at + 1] === 0 && imm === 12) insns.set([0xb7, 0, 0, 0, 0, 0, 0, 0], at);
        }
        return d.progLoad({ ...attr, insns });
      },
    }),
  },
  {
    name: "bpf_prog_info's btf_id reads 0",
    caughtBy: ["syscall.c bpf_prog_get_info_by_fd: btf_id"],
    needs: BTF,
    wrap: (d) => wrapDriver(d, {
      objGetInfoByFd(fd, info) {
        const r = d.objGetInfoByFd(fd, info);
        const kind = d.host.objKind?.(fd);
        if (r >= 132 && typeof kind === "object" && kind.kind === "prog") info.fill(0, 128, 132);
        return r;
      },
    }),
  },
  {
    name: "a program does not hold its BTF: the BTF id is gone once its fd is closed",
    caughtBy: ["btf.c btf_put: a program holds its BTF"],
    needs: BTF,
    wrap: (d) => {
      const closed = new Set<number>();
      return wrapDriver(d, {
        btfGetFdById: (id) => (closed.has(id) ? -ENOENT : d.btfGetFdById!(id)),
        close(fd) {
          const r = d.btfGetInfo!(fd, null);
          if (typeof r === "object") closed.add(r.id);
          return d.close(fd);
        },
      });
    },
  },
];

/** The suite's mutants: drivers that each break one kernel rule, with the cases that must catch it. */
export const mutants: readonly Mutant[] = [
  {
    name: "next-key on a missing key ends (ENOENT) instead of restarting",
    caughtBy: ["§5.3 hash: next_key walks", "§5.3 hash: deleting the current key"],
    wrap: (d) => wrapDriver(d, {
      mapGetNextKey(fd, key, next) {
        const i = key === null ? undefined : infoOf(d, fd);
        if (key !== null && i !== undefined && isHashMapType(i.type) && d.mapLookupElem(fd, key, valueBuf(d, i)) === -ENOENT) return -ENOENT;
        return d.mapGetNextKey(fd, key, next);
      },
    }),
  },
  {
    name: "BPF_NOEXIST ignored (updates an existing key)",
    caughtBy: ["§4.1 elements HASH: errnos"],
    wrap: (d) => wrapDriver(d, {
      mapUpdateElem: (fd, k, v, flags) => d.mapUpdateElem(fd, k, v, flags === NOEXIST ? 0 : flags),
    }),
  },
  {
    name: "no E2BIG when a hash map is full (the insert is dropped silently)",
    caughtBy: ["§5.4 hash HASH: capacity"],
    wrap: (d) => wrapDriver(d, {
      mapUpdateElem(fd, k, v, flags) {
        const r = d.mapUpdateElem(fd, k, v, flags);
        return r === -E2BIG && infoOf(d, fd)?.type === HASH ? 0 : r;
      },
    }),
  },
  {
    name: "per-CPU padding dropped (bytes past value_size read back as zero)",
    caughtBy: ["§6 per-CPU PERCPU_HASH: slots"],
    wrap: (d) => wrapDriver(d, {
      mapLookupElem(fd, k, v, flags) {
        const r = d.mapLookupElem(fd, k, v, flags);
        const i = r >= 0 ? infoOf(d, fd) : undefined;
        if (i !== undefined && isPerCpuMapType(i.type)) {
          const slot = perCpuSlotSize(i.valueSize);
          for (let c = 0; c < d.possibleCpus; c++) v.fill(0, c * slot + i.valueSize, (c + 1) * slot);
        }
        return r;
      },
    }),
  },
  {
    name: "LPM walk order reversed (less specific first)",
    caughtBy: ["§9.3 LPM: walk order"],
    wrap: (d) => wrapDriver(d, {
      mapGetNextKey(fd, key, next) {
        const i = infoOf(d, fd);
        if (i?.type !== LPM_TRIE) return d.mapGetNextKey(fd, key, next);
        const order = dumpAll(d, fd, i).map(([k]) => k).reverse();
        const at = key === null ? -1 : order.findIndex((k) => hex(k) === hex(key));
        const pick = at < 0 ? order[0] : order[at + 1];
        if (pick === undefined) return -ENOENT;
        next.set(pick);
        return 0;
      },
    }),
  },
  {
    name: "the last lookup batch (ENOENT) comes without its elements",
    caughtBy: ["§10.1 batch HASH: the token is a bucket index"],
    wrap: (d) => wrapDriver(d, {
      mapLookupBatch(fd, inb, outb, keys, values, count): BatchResult {
        const r = d.mapLookupBatch(fd, inb, outb, keys, values, count);
        return r.errno === ENOENT ? { errno: ENOENT, count: 0 } : r;
      },
    }),
  },
  {
    name: "move-to-head dropped: HASH updates an existing key in place",
    caughtBy: ["§5.2 hash HASH: update of an existing key", "§5.2 hash: colliding keys"],
    wrap: (d) => wrapDriver(d, {
      mapUpdateElem(fd, k, v, flags) {
        const i = infoOf(d, fd);
        if (i?.type !== HASH || d.mapLookupElem(fd, k, valueBuf(d, i)) < 0) return d.mapUpdateElem(fd, k, v, flags);
        const before = dumpAll(d, fd, i);
        const r = d.mapUpdateElem(fd, k, v, flags);
        if (r < 0) return r;
        // Re-inserting every key in reverse of the old walk order rebuilds each bucket as it was.
        for (const [key] of before) d.mapDeleteElem(fd, key);
        for (const [key, val] of before.reverse()) d.mapUpdateElem(fd, key, hex(key) === hex(k) ? v : val, 0);
        return r;
      },
    }),
  },
  {
    name: "array delete allowed (zeroes the slot instead of EINVAL)",
    caughtBy: ["§8 array ARRAY: slots"],
    wrap: (d) => wrapDriver(d, {
      mapDeleteElem(fd, k) {
        const i = infoOf(d, fd);
        if (i?.type === ARRAY || i?.type === PERCPU_ARRAY) return d.mapUpdateElem(fd, k, valueBuf(d, i), 0) < 0 ? -E2BIG : 0;
        return d.mapDeleteElem(fd, k);
      },
    }),
  },
  {
    name: "a frozen map stays writable (MAP_FREEZE does nothing)",
    caughtBy: ["§4.2 freeze HASH"],
    wrap: (d) => wrapDriver(d, { mapFreeze: () => 0 }),
  },
  {
    name: "a RDONLY fd is writable (OBJ_GET / GET_FD_BY_ID ignore the access flags)",
    caughtBy: ["§12 fd modes: RDONLY fds read only", "§12 fd modes: a map created RDONLY"],
    wrap: (d) => wrapDriver(d, {
      objGet: (path, flags) => d.objGet(path, flags === RDONLY ? 0 : flags),
      mapGetFdById: (id, flags) => d.mapGetFdById(id, flags === RDONLY ? 0 : flags),
    }),
  },
  {
    name: "OBJ_PIN on an existing path overwrites it instead of EEXIST",
    caughtBy: ["§12 pin: OBJ_PIN creates a file"],
    wrap: (d) => wrapDriver(d, {
      objPin(fd, path) {
        const r = d.objPin(fd, path);
        if (r !== -EEXIST) return r;
        d.host.unlink(path);
        return d.objPin(fd, path);
      },
    }),
  },
  {
    name: "rename with RENAME_NOREPLACE replaces an existing target instead of EEXIST",
    caughtBy: ["§12 rename: a pin renamed over another", "§12 rename: bpffs errnos"],
    wrap: (d) => wrapDriver(d, {
      host: { rename: (from, to, flags = 0) => d.host.rename!(from, to, flags & ~RENAME_NOREPLACE) },
    }),
  },
  {
    name: "map ids reused: a new map gets the id of the last one freed",
    caughtBy: ["§13 ids: ids grow and are not reused"],
    wrap(d) {
      const idOfFd = new Map<number, number>(); // fd → real id, for maps created here
      const shown = new Map<number, number>(); // real id → the reused id it shows
      const freed: number[] = [];
      const fix = (info: Uint8Array) => {
        if (info.length < 8) return;
        const dv = new DataView(info.buffer, info.byteOffset, info.byteLength);
        const s = shown.get(dv.getUint32(4, true));
        if (s !== undefined) dv.setUint32(4, s, true);
      };
      return wrapDriver(d, {
        mapCreate(attr) {
          const fd = d.mapCreate(attr);
          const i = fd >= 0 ? infoOf(d, fd) : undefined;
          if (i !== undefined) {
            idOfFd.set(fd, i.id);
            const reuse = freed.pop();
            if (reuse !== undefined) shown.set(i.id, reuse);
          }
          return fd;
        },
        objGetInfoByFd(fd, info) {
          const r = d.objGetInfoByFd(fd, info);
          if (r >= 0) fix(info);
          return r;
        },
        close(fd) {
          const id = idOfFd.get(fd);
          idOfFd.delete(fd);
          const r = d.close(fd);
          if (r >= 0 && id !== undefined && d.mapGetFdById(id) === -ENOENT) freed.push(shown.get(id) ?? id);
          return r;
        },
      });
    },
  },
  {
    name: "LRU + BPF_F_NO_PREALLOC accepted (the kernel says ENOTSUPP)",
    caughtBy: ["§3.3 create LRU_HASH: per-type matrix"],
    wrap: (d) => wrapDriver(d, {
      mapCreate: (a) => d.mapCreate((a.mapType === LRU_HASH || a.mapType === LRU_PERCPU_HASH) && a.mapFlags
        ? { ...a, mapFlags: a.mapFlags & ~NO_PREALLOC } : a),
    }),
  },
  {
    name: "info map_flags keeps BPF_F_RDONLY (it belongs to the fd)",
    caughtBy: ["§2 info: bpf_map_info fields"],
    wrap(d) {
      const rdonly = new Set<number>();
      return wrapDriver(d, {
        mapCreate(a) {
          const fd = d.mapCreate(a);
          if (fd >= 0 && ((a.mapFlags ?? 0) & RDONLY)) rdonly.add(fd);
          return fd;
        },
        objGetInfoByFd(fd, info) {
          const r = d.objGetInfoByFd(fd, info);
          if (r >= 24 && rdonly.has(fd)) {
            const dv = new DataView(info.buffer, info.byteOffset, info.byteLength);
            dv.setUint32(20, dv.getUint32(20, true) | RDONLY, true);
          }
          return r;
        },
      });
    },
  },
  {
    name: "batch ENOSPC (first bucket does not fit) reported as an empty success",
    caughtBy: ["§10.1 batch HASH: ENOSPC"],
    wrap: (d) => wrapDriver(d, {
      mapLookupBatch(fd, inb, outb, keys, values, count) {
        const r = d.mapLookupBatch(fd, inb, outb, keys, values, count);
        return r.errno === ENOSPC ? { errno: 0, count: 0 } : r;
      },
    }),
  },
  {
    name: "UPDATE_BATCH reports count 0 on error instead of the elements it applied",
    caughtBy: ["§10.2 batch: UPDATE_BATCH stops at the first error"],
    wrap: (d) => wrapDriver(d, {
      mapUpdateBatch(fd, keys, values, count, flags) {
        const r = d.mapUpdateBatch(fd, keys, values, count, flags);
        return r.errno !== 0 ? { errno: r.errno, count: 0 } : r;
      },
    }),
  },
  {
    name: "dup of a map fd opens the map again by id (a new open file, read-write whatever the fd's mode)",
    caughtBy: ["§12 dup: the copy shares the fd's access mode"],
    wrap: (d) => wrapDriver(d, {
      dup(fd) {
        const i = infoOf(d, fd);
        return i === undefined ? dupOrEnosys(d, fd) : d.mapGetFdById(i.id, 0);
      },
    }),
  },
  {
    name: "dup skips the lowest free fd",
    caughtBy: ["§13 dup: F_DUPFD_CLOEXEC gives the lowest free fd"],
    wrap: (d) => wrapDriver(d, {
      dup(fd) {
        const first = dupOrEnosys(d, fd);
        if (first < 0) return first;
        const second = dupOrEnosys(d, fd);
        d.close(first);
        return second;
      },
    }),
  },
  {
    name: "fdinfo frozen stays 0 after BPF_MAP_FREEZE",
    caughtBy: ["fdinfo: frozen is 0, then 1"],
    wrap: (d) => wrapDriver(d, {
      mapFdInfo(fd) {
        const r = d.mapFdInfo!(fd);
        return typeof r === "number" ? r : { ...r, frozen: false };
      },
    }),
  },
  {
    name: "fdinfo memlock is the footprint kernels before 6.4 printed: round_up(max_entries × round_up(key + value, 8), PAGE_SIZE)",
    caughtBy: ["fdinfo: memlock per type"],
    wrap: (d) => wrapDriver(d, {
      mapFdInfo(fd) {
        const r = d.mapFdInfo!(fd);
        const i = infoOf(d, fd);
        if (typeof r === "number" || i === undefined) return r;
        const valueSize = isPerCpuMapType(i.type) ? perCpuSlotSize(i.valueSize) * d.possibleCpus : i.valueSize;
        const size = Math.ceil((i.keySize + valueSize) / 8) * 8;
        return { ...r, memlock: Math.ceil((i.maxEntries * size) / 4096) * 4096 };
      },
    }),
  },
  {
    name: "fdinfo memlock stays what it was when the map was created (a NO_PREALLOC map's elements not counted)",
    caughtBy: ["fdinfo: memlock follows the elements"],
    wrap(d) {
      const atCreate = new Map<number, number>(); // fd → memlock of the empty map
      return wrapDriver(d, {
        mapCreate(a) {
          const fd = d.mapCreate(a);
          const r = fd >= 0 ? d.mapFdInfo!(fd) : undefined;
          if (typeof r === "object" && r.memlock !== undefined) atCreate.set(fd, r.memlock);
          return fd;
        },
        mapFdInfo(fd) {
          const r = d.mapFdInfo!(fd);
          const m = atCreate.get(fd);
          return typeof r === "number" || m === undefined ? r : { ...r, memlock: m };
        },
        close(fd) {
          atCreate.delete(fd);
          return d.close(fd);
        },
      });
    },
  },
  {
    name: "fdinfo flags: every fd reads O_RDWR (the fd's own access mode dropped)",
    caughtBy: ["fdinfo: flags is the fd's f_flags"],
    wrap: (d) => wrapDriver(d, {
      mapFdInfo(fd) {
        const r = d.mapFdInfo!(fd);
        return typeof r === "number" || r.fileFlags === undefined ? r : { ...r, fileFlags: (r.fileFlags & ~O_ACCMODE) | O_RDWR };
      },
    }),
  },
  {
    name: "fdinfo of an open fd that is no map says EBADF, not EINVAL",
    caughtBy: ["fdinfo: EBADF for an fd that is not open, EINVAL for"],
    wrap: (d) => wrapDriver(d, {
      mapFdInfo: (fd) => {
        const r = d.mapFdInfo!(fd);
        return r === -EINVAL ? -EBADF : r;
      },
    }),
  },
  {
    name: "fdinfo frozen reads 1 before any BPF_MAP_FREEZE",
    caughtBy: ["fdinfo: frozen is 0, then 1"],
    wrap: (d) => wrapDriver(d, {
      mapFdInfo(fd) {
        const r = d.mapFdInfo!(fd);
        return typeof r === "number" ? r : { ...r, frozen: true };
      },
    }),
  },
  {
    name: "a PROG_ARRAY's fdinfo owner is forgotten when a program is deleted from it",
    caughtBy: ["fdinfo: a PROG_ARRAY has no owner until"],
    wrap(d) {
      const emptied = new Set<number>(); // PROG_ARRAY fds a delete went through
      return wrapDriver(d, {
        mapDeleteElem(fd, k) {
          const r = d.mapDeleteElem(fd, k);
          if (r === 0 && infoOf(d, fd)?.type === PROG_ARRAY) emptied.add(fd);
          return r;
        },
        mapFdInfo(fd) {
          const r = d.mapFdInfo!(fd);
          if (typeof r === "number" || !emptied.has(fd)) return r;
          const { ownerProgType: _t, ownerJited: _j, ...rest } = r;
          return rest;
        },
        close(fd) {
          emptied.delete(fd);
          return d.close(fd);
        },
      });
    },
  },
  {
    name: "a full queue or stack refuses BPF_EXIST (E2BIG) instead of dropping its oldest value",
    caughtBy: ["queue_stack_maps.c QUEUE: pop order", "queue_stack_maps.c STACK: pop order"],
    wrap: (d) => wrapDriver(d, {
      mapUpdateElem(fd, k, v, flags) {
        const t = flags === BPF_EXIST ? infoOf(d, fd)?.type : undefined;
        return d.mapUpdateElem(fd, k, v, t === QUEUE || t === STACK ? 0 : flags);
      },
    }),
  },
  {
    name: "a stack pops its oldest value, as a queue does",
    caughtBy: ["queue_stack_maps.c STACK: pop order", "queue_stack_maps.c STACK: push, peek"],
    wrap: (d) => wrapDriver(d, {
      mapLookupAndDeleteElem(fd, k, v) {
        const i = infoOf(d, fd);
        if (i?.type !== STACK) return d.mapLookupAndDeleteElem(fd, k, v);
        // Pop everything (newest first), answer the oldest, push the rest back in their order.
        const all: Uint8Array[] = [];
        for (let b = new Uint8Array(i.valueSize); d.mapLookupAndDeleteElem(fd, NO_KEY, b) === 0; b = new Uint8Array(i.valueSize)) all.push(b);
        if (all.length === 0) return -ENOENT;
        v.set(all.pop()!);
        for (const b of all.reverse()) d.mapUpdateElem(fd, NO_KEY, b, 0);
        return 0;
      },
    }),
  },
  {
    name: "a queue or stack accepts key_size 4 (as if it were 0)",
    caughtBy: ["queue_stack_maps.c QUEUE: create checks"],
    wrap: (d) => wrapDriver(d, {
      mapCreate: (attr) => d.mapCreate(attr.mapType === QUEUE || attr.mapType === STACK ? { ...attr, keySize: 0 } : attr),
    }),
  },
  {
    name: "map_extra dropped at create (a bloom filter always hashes 5 times)",
    caughtBy: ["bloom_filter.c BLOOM_FILTER: create checks", "bloom_filter.c BLOOM_FILTER: under BPF_F_ZERO_SEED"],
    wrap: (d) => wrapDriver(d, {
      mapCreate(attr) {
        if (attr.mapType !== BLOOM_FILTER || (attr.mapExtra ?? 0n) > 15n) return d.mapCreate(attr);
        const { mapExtra: _e, ...rest } = attr;
        return d.mapCreate(rest);
      },
    }),
  },
  {
    name: "a bloom filter without false positives (lookup finds only the values pushed)",
    caughtBy: ["bloom_filter.c BLOOM_FILTER: under BPF_F_ZERO_SEED"],
    wrap: (d) => {
      const pushed = new Map<number, Set<string>>();
      return wrapDriver(d, {
        mapUpdateElem(fd, k, v, flags) {
          const r = d.mapUpdateElem(fd, k, v, flags);
          if (r === 0 && infoOf(d, fd)?.type === BLOOM_FILTER) {
            if (!pushed.has(fd)) pushed.set(fd, new Set());
            pushed.get(fd)!.add(hex(v));
          }
          return r;
        },
        mapLookupElem(fd, k, v, flags) {
          const r = d.mapLookupElem(fd, k, v, flags);
          if (r !== 0 || infoOf(d, fd)?.type !== BLOOM_FILTER) return r;
          return pushed.get(fd)?.has(hex(v)) === true ? 0 : -ENOENT;
        },
        close(fd) {
          pushed.delete(fd);
          return d.close(fd);
        },
      });
    },
  },
  {
    name: "batches on a keyless map answer EINVAL instead of ENOTSUPP",
    caughtBy: ["queue_stack_maps.c QUEUE: push, peek", "bloom_filter.c BLOOM_FILTER: push and lookup errnos"],
    wrap: (d) => {
      const keyless = (fd: number) => [QUEUE, STACK, BLOOM_FILTER].includes(infoOf(d, fd)?.type ?? 0);
      const einval = (fd: number, r: BatchResult): BatchResult => (r.errno === 524 && keyless(fd) ? { errno: EINVAL, count: r.count } : r);
      return wrapDriver(d, {
        mapLookupBatch: (fd, i, o, k, v, n) => einval(fd, d.mapLookupBatch(fd, i, o, k, v, n)),
        mapUpdateBatch: (fd, k, v, n, f) => einval(fd, d.mapUpdateBatch(fd, k, v, n, f)),
        mapDeleteBatch: (fd, k, n) => einval(fd, d.mapDeleteBatch(fd, k, n)),
      });
    },
  },
  {
    name: "mapFdInfo of an fd that is no integer answers EBADF instead of throwing a TypeError",
    caughtBy: ["fdinfo: EBADF for an fd that is not open, EINVAL for"],
    wrap: (d) => wrapDriver(d, {
      mapFdInfo: (fd) => (Number.isInteger(fd) ? d.mapFdInfo!(fd) : -EBADF),
    }),
  },
  {
    name: "MAP_FREEZE succeeds under a writable mapping (the mapping can still change a frozen map)",
    caughtBy: ["syscall.c map_freeze: EBUSY while any writable mapping exists"],
    needs: MMAP,
    wrap: (d) => wrapDriver(d, {
      mapFreeze(fd) {
        const r = d.mapFreeze(fd);
        return r === -EBUSY ? 0 : r;
      },
    }),
  },
  {
    name: "a read-only mapping is mapped writable (a write through it is accepted, and it blocks MAP_FREEZE)",
    caughtBy: ["Driver mmap contract", "syscall.c map_freeze: EBUSY while any writable mapping exists"],
    needs: MMAP,
    wrap: (d) => wrapDriver(d, {
      mapMmap(fd, length, writable, offset) {
        const h = d.mapMmap!(fd, length, true, offset);
        return h >= 0 ? h : d.mapMmap!(fd, length, writable, offset);
      },
    }),
  },
  {
    name: "a frozen map mapped writable is given a read-only mapping instead of EPERM",
    caughtBy: ["syscall.c bpf_map_mmap: a frozen map maps read-only only"],
    needs: MMAP,
    wrap: (d) => wrapDriver(d, {
      mapMmap(fd, length, writable, offset) {
        const h = d.mapMmap!(fd, length, writable, offset);
        return h === -EPERM && writable ? d.mapMmap!(fd, length, false, offset) : h;
      },
    }),
  },
  {
    name: "the mmap range is checked against max_entries × value_size, not the pages they take (the last page's tail refused)",
    caughtBy: ["syscall.c bpf_map_mmap: length 0 and an offset off a page"],
    needs: MMAP,
    wrap: (d) => wrapDriver(d, {
      mapMmap(fd, length, writable, offset = 0) {
        const i = infoOf(d, fd);
        if (i !== undefined && offset + length > i.maxEntries * Math.ceil(i.valueSize / 8) * 8 && length > 0 && offset % 4096 === 0) return -EINVAL;
        return d.mapMmap!(fd, length, writable, offset);
      },
    }),
  },
  {
    name: "a RINGBUF's producer page and data map writable (only the consumer page may: EPERM), as read-only pages",
    caughtBy: ["ringbuf.c ringbuf_map_mmap_kern: only the consumer page maps writable"],
    needs: MMAP,
    wrap: (d) => wrapDriver(d, {
      mapMmap(fd, length, writable, offset = 0) {
        const h = d.mapMmap!(fd, length, writable, offset);
        return h === -EPERM && writable && isRing(d, fd) ? d.mapMmap!(fd, length, false, offset) : h;
      },
    }),
  },
  {
    name: "a RINGBUF maps its data once (2 pages + size), not twice, so a range into the second copy is EINVAL",
    caughtBy: ["ringbuf.c ringbuf_map_mmap_kern: read-only maps any range", "ringbuf.c data pages mapped twice"],
    needs: MMAP,
    wrap: (d) => wrapDriver(d, {
      mapMmap(fd, length, writable, offset = 0) {
        const i = infoOf(d, fd);
        if (i?.type === RINGBUF && length > 0 && offset % PAGE === 0 && offset + length > 2 * PAGE + i.maxEntries) return -EINVAL;
        return d.mapMmap!(fd, length, writable, offset);
      },
    }),
  },
  {
    name: "a RINGBUF's second copy of the data reads as zeros (the pages are not mapped twice), so a wrapped record reads wrong",
    caughtBy: ["ringbuf.c data pages mapped twice"],
    needs: MMAP,
    wrap: (d) => ringMappings(d, (rings) => ({
      mmapRead(h, offset, dst) {
        const r = d.mmapRead!(h, offset, dst);
        const ring = rings.get(h);
        if (r !== 0 || ring === undefined) return r;
        const second = 2 * PAGE + ring.size - ring.offset;
        for (let i = Math.max(0, second - offset); i < dst.length; i++) dst[i] = 0;
        return r;
      },
    })),
  },
  {
    name: "a consumer position written through a RINGBUF's mapping never reaches the producer (a private copy), so a full ring stays full",
    caughtBy: ["ringbuf.c __bpf_ringbuf_reserve reads the consumer position", "ringbuf.c __bpf_ringbuf_reserve: EAGAIN exactly"],
    needs: MMAP,
    wrap: (d) => ringMappings(d, (rings) => ({
      mmapWrite: (h, offset, src) => (rings.has(h) ? 0 : d.mmapWrite!(h, offset, src)),
    })),
  },
  {
    name: "a RINGBUF's element syscalls answer EINVAL (as for a bad key) rather than the ops' ENOTSUPP",
    caughtBy: ["ringbuf.c ops: every element syscall is ENOTSUPP"],
    wrap: (d) => wrapDriver(d, {
      mapLookupElem: (fd, k, v) => (isRing(d, fd) ? -EINVAL : d.mapLookupElem(fd, k, v)),
      mapGetNextKey: (fd, k, n) => (isRing(d, fd) ? -EINVAL : d.mapGetNextKey(fd, k, n)),
    }),
  },
  {
    name: "a RINGBUF's max_entries needs only be whole pages, not a power of 2 (rounded up to one)",
    caughtBy: ["ringbuf.c ringbuf_map_alloc"],
    wrap: (d) => wrapDriver(d, {
      mapCreate(attr) {
        const n = attr.maxEntries;
        if (attr.mapType !== RINGBUF || n <= 0 || n % PAGE !== 0) return d.mapCreate(attr);
        return d.mapCreate({ ...attr, maxEntries: 2 ** Math.ceil(Math.log2(n)) });
      },
    }),
  },
  {
    name: "a USER_RINGBUF maps as a RINGBUF does: the producer page and the data refused writable (EPERM), so user space cannot write records",
    caughtBy: ["ringbuf.c ringbuf_map_mmap_user"],
    needs: MMAP,
    wrap: (d) => wrapDriver(d, {
      mapMmap(fd, length, writable, offset = 0) {
        if (writable && offset !== 0 && infoOf(d, fd)?.type === USER_RINGBUF) return -EPERM;
        return d.mapMmap!(fd, length, writable, offset);
      },
    }),
  },
  {
    name: "a USER_RINGBUF's producer position written through its mapping never reaches the kernel (a private copy), so a drain finds nothing",
    caughtBy: ["ringbuf.c bpf_user_ringbuf_drain"],
    needs: MMAP,
    wrap: (d) => {
      // The producer page's mappings (from offset one page), whose first u64 is the position.
      const producerPages = new Set<number>();
      return wrapDriver(d, {
        mapMmap(fd, length, writable, offset = 0) {
          const h = d.mapMmap!(fd, length, writable, offset);
          if (h >= 0 && offset === PAGE && infoOf(d, fd)?.type === USER_RINGBUF) producerPages.add(h);
          else producerPages.delete(h);
          return h;
        },
        mmapWrite: (h, offset, src) => (producerPages.has(h) && offset === 0 ? 0 : d.mmapWrite!(h, offset, src)),
      });
    },
  },
  {
    name: "mmapAtomic answers the word's value after the operation, not before (Atomics' add-and-fetch instead of fetch-and-add)",
    caughtBy: ["mmapAtomic: each op answers the word's value before it"],
    needs: ATOMIC,
    wrap: (d) => wrapDriver(d, {
      mmapAtomic(h, offset, size, op, operand, expected) {
        const r = d.mmapAtomic!(h, offset, size, op, operand, expected);
        return typeof r === "bigint" ? d.mmapAtomic!(h, offset, size, "load") : r;
      },
    }),
  },
  {
    name: "mmapAtomic through a read-only mapping answers the word's value as if it had worked, instead of EACCES",
    caughtBy: ["mmapAtomic: a read-only mapping answers load and refuses the rest with EACCES"],
    needs: ATOMIC,
    wrap: (d) => wrapDriver(d, {
      mmapAtomic(h, offset, size, op, operand, expected) {
        const r = d.mmapAtomic!(h, offset, size, op, operand, expected);
        return r === -EACCES ? d.mmapAtomic!(h, offset, size, "load") : r;
      },
    }),
  },
  ...btfMutants,
  ...progBtfMutants,
  ...perfMutants,
];

/** Whether `fd` is a BPF_MAP_TYPE_RINGBUF's. */
const isRing = (d: Driver, fd: number) => infoOf(d, fd)?.type === RINGBUF;

/**
 * A driver whose RINGBUF mappings are tracked by handle, with the ring's size: the ring mutants
 * below break a rule of those mappings only.
 */
function ringMappings(d: Driver, overrides: (rings: Map<number, { size: number; offset: number }>) => Parameters<typeof wrapDriver>[1]): Driver {
  const rings = new Map<number, { size: number; offset: number }>();
  const given = overrides(rings);
  return wrapDriver(d, {
    ...given,
    mapMmap(fd, length, writable, offset = 0) {
      const h = (given.mapMmap ?? d.mapMmap!.bind(d))(fd, length, writable, offset);
      if (typeof h === "number" && h >= 0) {
        const i = infoOf(d, fd);
        if (i?.type === RINGBUF) rings.set(h, { size: i.maxEntries, offset });
        else rings.delete(h);
      }
      return h;
    },
  });
}

/** The inner driver's dup, or ENOSYS (38) for one without it. *//** The inner driver's dup, or ENOSYS (38) for one without it. */
function dupOrEnosys(d: Driver, fd: number): number {
  return d.dup === undefined ? -38 : d.dup(fd);
}
