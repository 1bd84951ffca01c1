// The reference model as a Driver: the syscall layer of kernel-maps.md §4 (fd, permissions in
// the kernel's order, F_LOCK, freeze) and §10 (batches) over one table per map, in plain
// TypeScript, so a program runs unchanged on the model, the simulator and the kernel. It covers
// map contents only: pins, programs and host services throw NotModelledError.
import {
  BPF_F_LOCK, BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_BLOOM_FILTER,
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY,
  type BatchResult, type Driver, Errno, type HostServices, type MapCreateAttr, type MapShape,
  assertBatchBuffer, assertFd, assertSize, assertOptionKeys, encodeMapInfo, mapShape, optionKeys,
} from "@bpfkit/core";
import { ArrayTable } from "./array-table.js";
import { BloomTable } from "./bloom-table.js";
import { NotModelledError, checkMapCreate, effectiveMaxEntries, mapExtraOf } from "./create-check.js";
import { HashTable } from "./hash-table.js";
import { LpmTable } from "./lpm-table.js";
import { QueueStackTable } from "./queue-stack-table.js";
import type { ModelTable } from "./table.js";

interface ModelMap {
  readonly id: number;
  readonly attr: Required<Pick<MapCreateAttr, "mapType" | "keySize" | "valueSize" | "maxEntries" | "mapFlags" | "mapExtra">> & { mapName: string };
  readonly shape: MapShape;
  readonly table: ModelTable;
  frozen: boolean;
  refs: number;
}

interface ModelFd {
  readonly map: ModelMap;
  readonly read: boolean;
  readonly write: boolean;
}

/** Options of `createModelDriver`: the possible CPUs and the hash seed. */
export interface ModelDriverOptions {
  /** CPUs per-CPU values are sized by; match the driver you compare with. Default 2. */
  possibleCpus?: number;
  /** jhash seed of hash maps and bloom filters created without BPF_F_ZERO_SEED (the kernel's is random). Default 0. */
  hashSeed?: number;
}

/** testkit's reference model as a Driver (`createModelDriver`), with a look at the table behind an fd. */
export interface ModelDriver extends Driver {
  readonly kind: "model";
  /** The table behind an fd, for tests that want to look inside. */
  tableOf(fd: number): ModelTable | undefined;
}

const notModelled = (what: string) => (): never => {
  throw new NotModelledError(what);
};

const MODEL_DRIVER_OPTIONS_KEYS = optionKeys<ModelDriverOptions>({ possibleCpus: true, hashSeed: true });

/**
 * The reference model as a Driver: map contents and the syscall layer for HASH, PERCPU_HASH,
 * LRU_HASH and LRU_PERCPU_HASH (below eviction), ARRAY, PERCPU_ARRAY, LPM_TRIE, QUEUE, STACK and
 * BLOOM_FILTER, with ids and map info. Everything else (other map types, pins, programs, host services) throws
 * NotModelledError rather than guess.
 */
export function createModelDriver(options: ModelDriverOptions = {}): ModelDriver {
  assertOptionKeys(options, MODEL_DRIVER_OPTIONS_KEYS, "createModelDriver", "options");
  const possibleCpus = options.possibleCpus ?? 2;
  const fds = new Map<number, ModelFd>();
  const maps = new Map<number, ModelMap>();
  let nextFd = 3;
  let nextId = 1;

  function newFd(map: ModelMap, read: boolean, write: boolean): number {
    const fd = nextFd++;
    fds.set(fd, { map, read, write });
    map.refs++;
    return fd;
  }

  /** fd resolution: not open → EBADF (kernel-maps.md §1). */
  function resolve(fd: number, op: string): ModelFd | number {
    assertFd(fd, op);
    return fds.get(fd) ?? -Errno.EBADF;
  }

  const canWrite = (f: ModelFd) => f.write && !f.map.frozen;

  function makeTable(attr: MapCreateAttr, shape: MapShape): ModelTable {
    const t = attr.mapType;
    const flags = attr.mapFlags ?? 0;
    if (t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY) return new ArrayTable(attr.maxEntries, shape.userValueSize);
    if (t === BPF_MAP_TYPE_LPM_TRIE) return new LpmTable(attr.keySize, attr.maxEntries);
    if (t === BPF_MAP_TYPE_QUEUE || t === BPF_MAP_TYPE_STACK) return new QueueStackTable(attr.maxEntries, t === BPF_MAP_TYPE_STACK);
    if (t === BPF_MAP_TYPE_BLOOM_FILTER) {
      // map_extra's low 4 bits are the hash count; 0 means bloom_map_alloc()'s default of 5.
      const k = Number(mapExtraOf(attr) & 0xfn);
      return new BloomTable(attr.maxEntries, k === 0 ? 5 : k, flags & BPF_F_ZERO_SEED ? 0 : (options.hashSeed ?? 0));
    }
    return new HashTable({
      keySize: attr.keySize,
      maxEntries: effectiveMaxEntries(attr, possibleCpus),
      valueSize: shape.userValueSize,
      movesToHead: t === BPF_MAP_TYPE_HASH || t === BPF_MAP_TYPE_LRU_HASH,
      lru: t === BPF_MAP_TYPE_LRU_HASH || t === BPF_MAP_TYPE_LRU_PERCPU_HASH,
      seed: flags & BPF_F_ZERO_SEED ? 0 : (options.hashSeed ?? 0),
    });
  }

  /** Generic LOOKUP_BATCH (§10.2): next-key from the token, skip what vanished, token = last key. */
  function genericLookupBatch(m: ModelMap, inBatch: Uint8Array | null, outBatch: Uint8Array,
    keys: Uint8Array, values: Uint8Array, count: number): BatchResult {
    const { keySize, userValueSize } = m.shape;
    const key = new Uint8Array(keySize);
    const value = new Uint8Array(userValueSize);
    let prev: Uint8Array | null = inBatch === null ? null : inBatch.slice();
    let cp = 0;
    let err = 0;
    while (cp < count) {
      err = m.table.nextKey(prev, key);
      if (err < 0) break;
      err = m.table.lookup(key, value);
      if (err === 0) {
        keys.set(key, cp * keySize);
        values.set(value, cp * userValueSize);
        cp++;
      }
      prev = key.slice();
    }
    if (cp > 0) outBatch.set(prev!);
    return { errno: -err, count: cp };
  }

  const host: HostServices = {
    statfsType: notModelled("host services"), stat: notModelled("host services"),
    readdir: notModelled("host services"), mkdir: notModelled("host services"),
    mkdirAll: notModelled("host services"), unlink: notModelled("host services"),
    rmdir: notModelled("host services"), removeAll: notModelled("host services"),
    mount: notModelled("host services"), umount: notModelled("host services"),
    mountInfo: notModelled("host services"),
    monotonicNs: () => process.hrtime.bigint(),
    getRlimitMemlock: notModelled("host services"), setRlimitMemlock: notModelled("host services"),
  };

  const driver: ModelDriver = {
    kind: "model",
    possibleCpus,
    host,

    tableOf(fd) {
      return fds.get(fd)?.map.table;
    },

    mapCreate(attr) {
      const r = checkMapCreate(attr);
      if (r < 0) return r;
      const flags = attr.mapFlags ?? 0;
      const shape = mapShape(attr.mapType, attr.keySize, attr.valueSize, possibleCpus);
      const map: ModelMap = {
        id: nextId++,
        attr: {
          mapType: attr.mapType, keySize: attr.keySize, valueSize: attr.valueSize,
          maxEntries: effectiveMaxEntries(attr, possibleCpus), mapFlags: flags, mapName: attr.mapName ?? "",
          mapExtra: mapExtraOf(attr),
        },
        shape, table: makeTable(attr, shape), frozen: false, refs: 0,
      };
      maps.set(map.id, map);
      // BPF_F_RDONLY/WRONLY at create time restrict only this fd (§12).
      return newFd(map, !(flags & BPF_F_WRONLY), !(flags & BPF_F_RDONLY));
    },

    mapLookupElem(fd, key, value, flags = 0) {
      if (flags & ~BPF_F_LOCK) return -Errno.EINVAL;
      const f = resolve(fd, "BPF_MAP_LOOKUP_ELEM");
      if (typeof f === "number") return f;
      assertSize(key, f.map.shape.keySize, "key", "BPF_MAP_LOOKUP_ELEM", fd);
      assertSize(value, f.map.shape.userValueSize, "value", "BPF_MAP_LOOKUP_ELEM", fd);
      if (!f.read) return -Errno.EPERM;
      if (flags & BPF_F_LOCK) return -Errno.EINVAL; // no bpf_spin_lock without BTF
      return f.map.table.lookup(key, value);
    },

    mapUpdateElem(fd, key, value, flags = 0) {
      const f = resolve(fd, "BPF_MAP_UPDATE_ELEM");
      if (typeof f === "number") return f;
      assertSize(key, f.map.shape.keySize, "key", "BPF_MAP_UPDATE_ELEM", fd);
      assertSize(value, f.map.shape.userValueSize, "value", "BPF_MAP_UPDATE_ELEM", fd);
      if (!canWrite(f)) return -Errno.EPERM;
      if (flags & BPF_F_LOCK) return -Errno.EINVAL;
      return f.map.table.update(key, value, flags);
    },

    mapDeleteElem(fd, key) {
      const f = resolve(fd, "BPF_MAP_DELETE_ELEM");
      if (typeof f === "number") return f;
      assertSize(key, f.map.shape.keySize, "key", "BPF_MAP_DELETE_ELEM", fd);
      if (!canWrite(f)) return -Errno.EPERM;
      return f.map.table.delete(key);
    },

    mapGetNextKey(fd, key, nextKey) {
      const f = resolve(fd, "BPF_MAP_GET_NEXT_KEY");
      if (typeof f === "number") return f;
      if (key !== null) assertSize(key, f.map.shape.keySize, "key", "BPF_MAP_GET_NEXT_KEY", fd);
      assertSize(nextKey, f.map.shape.keySize, "next key", "BPF_MAP_GET_NEXT_KEY", fd);
      if (!f.read) return -Errno.EPERM;
      return f.map.table.nextKey(key, nextKey);
    },

    mapLookupAndDeleteElem(fd, key, value, flags = 0) {
      // The flag bits come before the fd; BPF_F_LOCK after the mode, and no model value has a lock.
      if (flags !== 0 && flags !== BPF_F_LOCK) return -Errno.EINVAL;
      const f = resolve(fd, "BPF_MAP_LOOKUP_AND_DELETE_ELEM");
      if (typeof f === "number") return f;
      assertSize(key, f.map.shape.keySize, "key", "BPF_MAP_LOOKUP_AND_DELETE_ELEM", fd);
      assertSize(value, f.map.shape.userValueSize, "value", "BPF_MAP_LOOKUP_AND_DELETE_ELEM", fd);
      if (!f.read || !canWrite(f)) return -Errno.EPERM;
      if (flags !== 0) return -Errno.EINVAL;
      return f.map.table.lookupAndDelete(key, value);
    },

    mapFreeze(fd) {
      const f = resolve(fd, "BPF_MAP_FREEZE");
      if (typeof f === "number") return f;
      // A frozen map is not writable from the syscall side, so a second freeze is EPERM (§4.2).
      if (!canWrite(f)) return -Errno.EPERM;
      f.map.frozen = true;
      return 0;
    },

    mapLookupBatch(fd, inBatch, outBatch, keys, values, count, elemFlags = 0) {
      return batchLookup(fd, inBatch, outBatch, keys, values, count, false, elemFlags);
    },

    mapLookupAndDeleteBatch(fd, inBatch, outBatch, keys, values, count, elemFlags = 0) {
      return batchLookup(fd, inBatch, outBatch, keys, values, count, true, elemFlags);
    },

    mapUpdateBatch(fd, keys, values, count, elemFlags = 0) {
      const op = "BPF_MAP_UPDATE_BATCH";
      const f = resolve(fd, op);
      if (typeof f === "number") return { errno: -f, count };
      const { keySize, userValueSize } = f.map.shape;
      assertBatchBuffer(keys, count, keySize, "keys", op, fd);
      assertBatchBuffer(values, count, userValueSize, "values", op, fd);
      if (!canWrite(f)) return { errno: Errno.EPERM, count };
      if (!f.map.table.batchOps.update) return { errno: Errno.ENOTSUPP, count };
      // Only F_LOCK is an element flag here, and it needs a spin lock: batches are BPF_ANY (§10).
      if (elemFlags !== 0) return { errno: Errno.EINVAL, count };
      if (count === 0) return { errno: 0, count: 0 };
      let cp = 0;
      for (; cp < count; cp++) {
        const r = f.map.table.update(keys.subarray(cp * keySize, (cp + 1) * keySize),
          values.subarray(cp * userValueSize, (cp + 1) * userValueSize), 0);
        if (r < 0) return { errno: -r, count: cp };
      }
      return { errno: 0, count: cp };
    },

    mapDeleteBatch(fd, keys, count) {
      const op = "BPF_MAP_DELETE_BATCH";
      const f = resolve(fd, op);
      if (typeof f === "number") return { errno: -f, count };
      const { keySize } = f.map.shape;
      assertBatchBuffer(keys, count, keySize, "keys", op, fd);
      if (!canWrite(f)) return { errno: Errno.EPERM, count };
      if (!f.map.table.batchOps.delete) return { errno: Errno.ENOTSUPP, count };
      if (count === 0) return { errno: 0, count: 0 };
      let cp = 0;
      for (; cp < count; cp++) {
        const r = f.map.table.delete(keys.subarray(cp * keySize, (cp + 1) * keySize));
        if (r < 0) return { errno: -r, count: cp };
      }
      return { errno: 0, count: cp };
    },

    objPin: notModelled("pins"),
    objGet: notModelled("pins"),
    progGetNextId: notModelled("programs"),
    progGetFdById: notModelled("programs"),
    progLoad: notModelled("programs"),
    progAttach: notModelled("programs"),
    progGetMapIds: notModelled("programs"),

    mapGetNextId(startId) {
      if (startId >= 0x7fffffff) return -Errno.EINVAL;
      let best = -Errno.ENOENT;
      for (const id of maps.keys()) if (id > startId && (best < 0 || id < best)) best = id;
      return best;
    },

    mapGetFdById(id, openFlags = 0) {
      if (openFlags !== 0 && openFlags !== BPF_F_RDONLY && openFlags !== BPF_F_WRONLY) return -Errno.EINVAL;
      const map = maps.get(id);
      if (map === undefined) return -Errno.ENOENT;
      return newFd(map, openFlags !== BPF_F_WRONLY, openFlags !== BPF_F_RDONLY);
    },

    objGetInfoByFd(fd, info) {
      const f = resolve(fd, "BPF_OBJ_GET_INFO_BY_FD");
      if (typeof f === "number") return f;
      const a = f.map.attr;
      const full = new Uint8Array(104);
      encodeMapInfo({
        type: a.mapType, id: f.map.id, keySize: a.keySize, valueSize: a.valueSize, maxEntries: a.maxEntries,
        mapFlags: a.mapFlags & ~(BPF_F_RDONLY | BPF_F_WRONLY), name: a.mapName, mapExtra: a.mapExtra,
      }, full);
      const n = Math.min(info.byteLength, full.byteLength);
      info.set(full.subarray(0, n));
      return n;
    },

    close(fd) {
      const f = fds.get(fd);
      if (f === undefined) return -Errno.EBADF;
      fds.delete(fd);
      // No pins or outer maps in the model: the last fd frees the map and its id (§13).
      if (--f.map.refs === 0) maps.delete(f.map.id);
      return 0;
    },
  };

  function batchLookup(fd: number, inBatch: Uint8Array | null, outBatch: Uint8Array, keys: Uint8Array,
    values: Uint8Array, count: number, del: boolean, elemFlags: number): BatchResult {
    const op = del ? "BPF_MAP_LOOKUP_AND_DELETE_BATCH" : "BPF_MAP_LOOKUP_BATCH";
    const f = resolve(fd, op);
    if (typeof f === "number") return { errno: -f, count };
    const { keySize, userValueSize, tokenSize } = f.map.shape;
    if (inBatch !== null) assertSize(inBatch, tokenSize, "in_batch", op, fd);
    assertSize(outBatch, tokenSize, "out_batch", op, fd);
    assertBatchBuffer(keys, count, keySize, "keys", op, fd);
    assertBatchBuffer(values, count, userValueSize, "values", op, fd);
    if (!f.read || (del && !canWrite(f))) return { errno: Errno.EPERM, count };
    if (!(del ? f.map.table.batchOps.lookupAndDelete : f.map.table.batchOps.lookup)) return { errno: Errno.ENOTSUPP, count };
    // elem_flags may only be BPF_F_LOCK on a value with a lock, which no model value has.
    if (elemFlags !== 0) return { errno: Errno.EINVAL, count };
    if (count === 0) return { errno: 0, count: 0 };
    const t = f.map.table;
    if (t.bucketBatch !== undefined) return t.bucketBatch(inBatch, outBatch, keys, values, count, del);
    return genericLookupBatch(f.map, inBatch, outBatch, keys, values, count);
  }

  return driver;
}
