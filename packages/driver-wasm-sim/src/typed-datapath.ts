// The datapath facet in a map's own types: what a BPF program's bpf_map_*_elem calls do, with
// the test's keys and values instead of bytes. It takes any object shaped like a BpfMap (its fd,
// codecs and info) or like a queue, stack, bloom filter or ring (its fd, value codec and type), so
// core needs no knowledge of the simulator.
import {
  BPF_F_CURRENT_CPU, BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF, decodeMapInfo, Errno, errnoName,
  isPerCpuMapType, MAP_INFO_SIZE, mapTypeName, PROG_INFO_SIZE, type Codec,
} from "@bpfkit/core";
import type { SimDriver } from "./sim-driver.js";

/** The parts of a BpfMap the typed datapath reads. */
export interface DatapathMap<K, V> {
  /** The map's open fd. */
  getFd(): number;
  /** The map's name, for messages. */
  name(): string;
  /** The codec keys are encoded with. */
  readonly keyCodec: Codec<K>;
  /** The codec values are encoded and decoded with (one CPU's value for per-CPU maps). */
  readonly valueCodec: Codec<V>;
  /** The map's type and value size, which tell a per-CPU map. */
  readonly mapInfo: { readonly mapType: number; readonly valueSize: number };
}

/**
 * The parts of a BpfQueueMap, BpfBloomFilter or ring (BpfRingBuf, BpfUserRingBuf,
 * BpfPerfEventArray) the typed datapath reads: they have no key codec. A queue's or bloom
 * filter's value codec is the program's value; a ring's records are the codec passed with it.
 */
export interface KeylessDatapathMap<V> {
  /** The map's open fd. */
  getFd(): number;
  /** The map's name, for messages. */
  name(): string;
  /** The codec values are encoded and decoded with. */
  readonly valueCodec: Codec<V>;
  /** The map type (QUEUE, STACK, BLOOM_FILTER, RINGBUF, USER_RINGBUF or PERF_EVENT_ARRAY). */
  readonly mapType: number;
}

/** A program's view of one map: the helpers' answers, in the map's types. */
export interface TypedDatapath<K, V> {
  /** bpf_map_lookup_elem on `cpu` (default 0): the value, or undefined where the program gets NULL. */
  lookup(key: K, cpu?: number): V | undefined;
  /** bpf_map_update_elem on `cpu`: 0 or -errno, as the helper returns. */
  update(key: K, value: V, flags?: number, cpu?: number): number;
  /** bpf_map_delete_elem on `cpu`: 0 or -errno. */
  delete(key: K, cpu?: number): number;
  /** bpf_map_push_elem on `cpu` (QUEUE, STACK, BLOOM_FILTER): 0 or -errno (E2BIG when full). */
  push(value: V, flags?: number, cpu?: number): number;
  /** bpf_map_pop_elem on `cpu` (QUEUE, STACK): the value, or undefined when the map is empty. */
  pop(cpu?: number): V | undefined;
  /** bpf_map_peek_elem on `cpu` (QUEUE, STACK): the next value pop would give, or undefined. */
  peek(cpu?: number): V | undefined;
  /** bpf_map_peek_elem on a BLOOM_FILTER: whether `value` may be present (false: it is not). */
  mayContain(value: V, cpu?: number): boolean;
  /**
   * A program's record of `value` on `cpu` (default 0): bpf_ringbuf_output on a RINGBUF (`flags`
   * BPF_RB_NO_WAKEUP or BPF_RB_FORCE_WAKEUP; -EAGAIN without room), bpf_perf_event_output on a
   * PERF_EVENT_ARRAY (`flags` the slot's index, by default BPF_F_CURRENT_CPU: the slot of `cpu`;
   * -ENOENT for an empty slot, -ENOSPC for a full ring). 0 or -errno, as the helper returns.
   */
  output(value: V, flags?: number, cpu?: number): number;
  /**
   * bpf_user_ringbuf_drain on a USER_RINGBUF: `callback` gets each record user space submitted,
   * decoded (`undefined` when the sample is shorter than the codec, where the program's
   * bpf_dynptr_read of it fails; a longer one is decoded from its start) and the sample's bytes;
   * 1 stops after it. The records called back for, or -errno as the helper answers.
   */
  drain(callback: (value: V | undefined, sample: Uint8Array) => number | void, flags?: number): number;
}

/** The maps whose program side writes or takes records rather than elements. */
const RING_TYPES: readonly number[] = [BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF, BPF_MAP_TYPE_PERF_EVENT_ARRAY];

/** The key of a map without keys: no bytes. */
const NO_KEY: Codec<never> = { size: 0, encode: () => {}, decode: () => undefined as never, format: () => "" } as unknown as Codec<never>;

/**
 * `sim.datapath` for `map`, encoding keys with its key codec and values with `value` (default:
 * its value codec). A program sees one CPU's slot of a per-CPU map, so for those `value` is
 * required: the one-CPU codec given to newPerCpuMap (`u64`, not the map's array of them).
 * `sim` must be the simulator the map was made on: the map is found by its fd there, and an fd
 * that simulator does not know, or that names a map of another type or sizes there, is an Error
 * saying so.
 */
export function typedDatapath<K, V>(sim: SimDriver, map: DatapathMap<K, V>): TypedDatapath<K, V>;
export function typedDatapath<K, V>(sim: SimDriver, map: DatapathMap<K, unknown>, value: Codec<V>): TypedDatapath<K, V>;
/**
 * A queue, stack or bloom filter (`bpf.newQueueMap`, `bpf.newBloomFilter`): `push`, `pop`, `peek`
 * and `mayContain` in its value's type. It has no keys, so `lookup`, `update` and `delete` take none.
 */
export function typedDatapath<V>(sim: SimDriver, map: KeylessDatapathMap<V>): TypedDatapath<never, V>;
/**
 * A ring buffer, user ring buffer or perf event array (`bpf.newRingBuf`, `newUserRingBuf`,
 * `newPerfEventArray`) with `event`, the codec of its records: `output` writes one as a program
 * does, `drain` takes them as a program does, in that type.
 */
export function typedDatapath<V>(sim: SimDriver, map: KeylessDatapathMap<unknown>, event: Codec<V>): TypedDatapath<never, V>;
export function typedDatapath<K, V>(sim: SimDriver, map: DatapathMap<K, unknown> | KeylessDatapathMap<unknown>, value?: Codec<V>): TypedDatapath<K, V> {
  const where = `typedDatapath(${map.name()})`;
  // A keyless map has no key codec and no seed MapInfo: its key is empty, its value its codec's.
  const keyed = "mapInfo" in map && map.mapInfo !== undefined;
  const { mapType, valueSize: mapValueSize } = keyed ? (map as DatapathMap<K, unknown>).mapInfo
    : { mapType: (map as KeylessDatapathMap<unknown>).mapType, valueSize: map.valueCodec.size };
  const keyCodec = keyed ? (map as DatapathMap<K, unknown>).keyCodec : NO_KEY;
  if (value === undefined && isPerCpuMapType(mapType)) {
    throw new TypeError(`${where}: a program sees one CPU's value of a per-CPU map: pass that value's codec (typedDatapath(sim, map, u64))`);
  }
  // A ring's map value (none, or a perf event's fd) is not what programs write: its records are.
  const ring = RING_TYPES.includes(mapType);
  if (ring && (value === null || typeof value !== "object" || typeof value.encode !== "function" || typeof value.decode !== "function")) {
    throw new TypeError(`${where}: a ring's records are the program's own type: pass their codec (typedDatapath(sim, ring, event))`);
  }
  const codec = value ?? (map.valueCodec as Codec<V>);
  const valueSize = ring ? codec.size : mapValueSize;
  if (codec.size !== valueSize) {
    throw new RangeError(`${where}: the value codec is ${codec.size} bytes, a program's value of this map is ${valueSize}`);
  }
  const keyBuf = new Uint8Array(keyCodec.size);
  const valueBuf = new Uint8Array(valueSize);
  const otherSim = "the map was made on another one (pass typedDatapath the simulator its Bpf was created with)";
  // The fd is read at each call: the map may have been opened, closed or reopened since.
  let fd = -1;
  /** The last fd found to be a map of this one's shape here. */
  let checked = -1;
  const ref = () => {
    fd = map.getFd();
    if (fd < 0) throw new Error(`${where}: the map is not open`);
    if (fd !== checked) {
      sameShape();
      checked = fd;
    }
    return { fd };
  };
  // The fd of a map made on another simulator (a test's second createSimDriver()) may name a map
  // here too, which the program would write without a word: one whose type or sizes differ is
  // caught (one of the very same shape cannot be told apart).
  // Room for a program's info too, so that a program's fd (which fills it) is not read as a map's.
  const info = new Uint8Array(Math.max(MAP_INFO_SIZE, PROG_INFO_SIZE));
  const sameShape = () => {
    const r = sim.objGetInfoByFd(fd, info);
    if (r < 0) return; // EBADF: `known` names it, on the call's own answer
    const here = decodeMapInfo(info);
    // A keyless object does not say its map's key size (a perf event array's is 4), nor a ring its value size.
    const want = { type: mapType, keySize: keyed ? keyCodec.size : here.keySize, valueSize: ring ? here.valueSize : mapValueSize };
    if (r === MAP_INFO_SIZE && here.type === want.type && here.keySize === want.keySize && here.valueSize === want.valueSize) return;
    const shape = (t: number, k: number, v: number) => `type ${mapTypeName(t)}, key ${k}, value ${v} bytes`;
    throw new Error(`${where}: fd ${fd} in this simulator is ${r === MAP_INFO_SIZE ? `another map (${shape(here.type, here.keySize, here.valueSize)})` : "no map"}, ` +
      `not this one (${shape(want.type, want.keySize, want.valueSize)}): ${otherSim}`);
  };
  // An open map's fd that this simulator does not know: the map was made on another one. No
  // program meets EBADF, so it is thrown rather than answered.
  const known = (op: string, r: number): number => {
    if (r !== -Errno.EBADF) return r;
    throw new Error(`${where}: ${op}: fd ${fd} is not open in this simulator: ${otherSim}`);
  };
  // What a codec refuses is named as a BpfMap names it (`update ct: bad key: …`), with the
  // call it came from; a bare codec message did not say which map or which datapath call.
  const encode = <T>(op: string, what: "key" | "value", c: Codec<T>, v: T, buf: Uint8Array): Uint8Array => {
    buf.fill(0);
    try {
      c.encode(v, buf);
    } catch (e) {
      const Ctor = e instanceof RangeError ? RangeError : TypeError;
      throw new Ctor(`${where}: ${op}: bad ${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return buf;
  };
  const encodeKey = (op: string, key: K) => encode(op, "key", keyCodec, key, keyBuf);
  const encodeValue = (op: string, v: V) => encode(op, "value", codec, v, valueBuf);
  return {
    lookup(key, cpu = 0) {
      const r = known("lookup", sim.datapath.lookup(ref(), encodeKey("lookup", key), valueBuf, cpu));
      if (r === -Errno.ENOENT) return undefined;
      if (r < 0) throw new Error(`${where}: lookup: ${errnoName(r)}`);
      return codec.decode(valueBuf);
    },
    update(key, v, flags = 0, cpu = 0) {
      const k = encodeKey("update", key);
      return known("update", sim.datapath.update(ref(), k, encodeValue("update", v), flags, cpu));
    },
    delete(key, cpu = 0) {
      return known("delete", sim.datapath.delete(ref(), encodeKey("delete", key), cpu));
    },
    push(v, flags = 0, cpu = 0) {
      return known("push", sim.datapath.push(ref(), encodeValue("push", v), flags, cpu));
    },
    pop(cpu = 0) {
      const r = known("pop", sim.datapath.pop(ref(), valueBuf, cpu));
      if (r === -Errno.ENOENT) return undefined;
      if (r < 0) throw new Error(`${where}: pop: ${errnoName(r)}`);
      return codec.decode(valueBuf);
    },
    peek(cpu = 0) {
      const r = known("peek", sim.datapath.peek(ref(), valueBuf, cpu));
      if (r === -Errno.ENOENT) return undefined;
      if (r < 0) throw new Error(`${where}: peek: ${errnoName(r)}`);
      return codec.decode(valueBuf);
    },
    mayContain(v, cpu = 0) {
      const r = known("peek", sim.datapath.peek(ref(), encodeValue("mayContain", v), cpu));
      if (r === -Errno.ENOENT) return false;
      if (r < 0) throw new Error(`${where}: peek: ${errnoName(r)}`);
      return true;
    },
    output(v, flags, cpu = 0) {
      const data = encodeValue("output", v);
      if (mapType === BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
        return known("output", sim.datapath.perfEventOutput(ref(), data, flags ?? BPF_F_CURRENT_CPU, cpu));
      }
      return known("output", sim.datapath.ringbufOutput(ref(), data, flags ?? 0, cpu));
    },
    drain(callback, flags = 0) {
      if (typeof callback !== "function") throw new TypeError(`${where}: drain: callback must be a function`);
      const take = (sample: Uint8Array) =>
        callback(sample.length < codec.size ? undefined : codec.decode(sample.length === codec.size ? sample : sample.slice(0, codec.size)), sample);
      return known("drain", sim.datapath.userRingbufDrain(ref(), take, flags));
    },
  };
}
