// An mmapable ARRAY's values mapped into the process (cilium/ebpf's Map.Memory, libbpf's
// skeleton .data): reads and writes with no syscall, seen at once by programs and by lookups.
// Everything goes through the driver's copies (mmapRead, mmapWrite) and atomics (mmapAtomic),
// never a view of the pages: a view kept after munmap would crash the process at its next touch.
import { BpfError } from "./errors.js";
import { Errno, errnoText } from "./errno.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import { MappedWord } from "./mapped-word.js";
import { checkMappingCall, mappingError, releaseEach } from "./mapping-errors.js";
import type { Driver } from "./driver.js";
import { assertOptionKeys, nearKey } from "./option-keys.js";
import {
  BPF_F_MMAPABLE, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_MAP_TYPE_ARENA, BPF_MAP_TYPE_ARRAY, isPerCpuMapType, mapTypeName,
} from "./constants.js";
import type { AccessFlags } from "./access-mode.js";
import { hostIsLittleEndian, type Codec, type FieldCodec, type PadCodec, type StructCodec, type StructField } from "./codec.js";
import { describeValue } from "./describe-value.js";

/** How `BpfMap.memory` maps the values. */
export interface MapMemoryOptions {
  /**
   * true: writable, or an error saying why not; false: read-only. Left out: writable where the
   * kernel allows it, else read-only (a frozen map, or one made with BPF_F_RDONLY_PROG), as
   * cilium/ebpf does.
   */
  writable?: boolean;
}

/** What `BpfMap.memory()` gives a MapMemory: the mapping, and the map's name, sizes and codec. */
export interface MapMemoryInit<V> {
  /** The driver that made the mapping, which reads, writes and unmaps it. */
  driver: Driver;
  /** `Driver.mapMmap`'s handle for the values. */
  handle: number;
  /** Whether it was mapped with PROT_WRITE. */
  writable: boolean;
  /** Why it is read-only, where the kernel refused it writable (readOnlyFallback); said by a refused write. */
  readOnlyWhy?: string;
  /** The map's name, for errors. */
  name: string;
  /** The map's pin path ("" when none), for errors. */
  path: string;
  /** The map's value size. */
  valueSize: number;
  /** The map's max_entries as the kernel has it: the array's length. */
  maxEntries: number;
  /** Encodes a value into `out` (zeroed, `valueSize` bytes), throwing an error naming `op`. */
  encode(value: V, op: string, out: Uint8Array): void;
  /** Decodes a value's bytes, throwing an error naming `op`. */
  decode(bytes: Uint8Array, op: string): V;
  /** The value codec, whose fields (a `struct()`'s) loadField and storeField reach. */
  codec?: Codec<V>;
}

/** The names of a struct value's fields (none for any other value): what loadField and storeField take. */
export type MemoryFieldName<V> = V extends bigint | number | string | boolean | Uint8Array ? never : keyof V & string;

/**
 * The fields of a struct value that may be words: those holding a number or bigint (an address,
 * an array, bytes or a nested struct never is; a u8 or be32 one is refused when word() runs).
 */
export type WordFieldName<V> = { [K in MemoryFieldName<V>]: V[K & keyof V] extends number | bigint ? K : never }[MemoryFieldName<V>];

/**
 * What `MapMemory.word` takes after the index: a struct value's field name, required (the struct
 * as a whole is no word); nothing for any other value.
 */
export type WordFieldArgs<V> = 0 extends 1 & V ? [field?: string]
  : [MemoryFieldName<V>] extends [never] ? [] : [field: WordFieldName<V>];

/**
 * Whether a word's codec is signed (i32, i64: true), unsigned (u32, u64, raw bytes, a codec of
 * the user's own: false), or what it is where it is no host-order integer (a string): a program's
 * atomic add on a big-endian or array field would garble it, so no MappedWord is made of one.
 */
function wordKind(c: Codec<unknown> | undefined): boolean | string {
  if (c === undefined) return false;
  const name = (c as Partial<FieldCodec<unknown>>).name;
  if (Array.isArray((c as Partial<StructCodec<unknown>>).fields)) return `struct (${String(name)})`;
  if (typeof name !== "string") return false;
  if (/^be(16|32|64)$/.test(name) && hostIsLittleEndian) return `${name} (big-endian)`;
  if (name === "ipv4") return "ipv4 (an address in network byte order)";
  if (name.endsWith("]")) return `${name} (an array)`;
  return name === "i32" || name === "i64";
}

/** A struct codec's fields that hold values (padding left out), by name; undefined for any other codec. */
function valueFieldsOf(c: Codec<unknown> | undefined): Map<string, StructField> | undefined {
  const fields = (c as Partial<StructCodec<unknown>> | undefined)?.fields;
  if (!Array.isArray(fields)) return undefined;
  const out = new Map<string, StructField>();
  for (const f of fields as readonly StructField[]) if ((f.codec as Partial<PadCodec>).isPadding !== true) out.set(f.name, f);
  return out;
}

const OPTION_KEYS = ["writable"] as const;

/** Why a closed MapMemory refuses everything. */
const UNMAPPED = "the memory is unmapped: close() was called";

/** The options `memory` was given, checked: the writable wish, or undefined for "where allowed". */
export function memoryWish(options: MapMemoryOptions | undefined, where: string): boolean | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== "object") throw new TypeError(`${where}: options must be an object ({ writable })`);
  assertOptionKeys(options, OPTION_KEYS, where, "options");
  if (options.writable !== undefined && typeof options.writable !== "boolean") {
    throw new TypeError(`${where}: options.writable must be a boolean, got ${describeValue(options.writable)}`);
  }
  return options.writable;
}

/** What a refused mmap knows of its map, for mmapRefusal. */
export interface MmapRefused {
  /** The map's type and flags as the kernel has them, or undefined where they cannot be read. */
  kernel: { type: number; flags: number } | undefined;
  /** The fd's access mode. */
  access: AccessFlags;
  /** Whether the mapping asked for PROT_WRITE. */
  writable: boolean;
  /** The kernel's answer on a frozen map for `errno`, where fdinfo says it is frozen (frozenRefusal). */
  frozen: string | undefined;
}

/** Why the kernel refused to map a map's values with `errno`, or undefined where it cannot be told. */
export function mmapRefusal(errno: number, r: MmapRefused): string | undefined {
  const only = "only an ARRAY made with BPF_F_MMAPABLE can be mapped";
  // do_mmap makes a MAP_SHARED mapping of a file that cannot write a private one, which
  // bpf_map_mmap refuses (EINVAL): a read-only fd maps nothing, not even read-only.
  if (r.access === BPF_F_RDONLY && (errno === Errno.EACCES || errno === Errno.EINVAL)) {
    return "the map was opened read-only (BPF_F_RDONLY), and the kernel maps a map's memory only through an fd that can write: " +
      "open it read-write, and map it with { writable: false } to only read";
  }
  if (errno === Errno.EACCES) {
    // do_mmap's own checks come first: the open file must be readable, and writable for PROT_WRITE.
    if (r.access === BPF_F_WRONLY) return "the map was opened write-only (BPF_F_WRONLY): mapping its memory needs read access";
    if (r.kernel !== undefined && (r.kernel.flags & BPF_F_RDONLY_PROG) !== 0 && r.writable) {
      return "the map was made with BPF_F_RDONLY_PROG: user space may map it read-only ({ writable: false }), never writable";
    }
    return undefined;
  }
  if (errno === Errno.EPERM && r.writable && r.frozen !== undefined) {
    return "the map is frozen (BPF_MAP_FREEZE): its memory can be mapped read-only ({ writable: false }), not writable";
  }
  if (r.kernel === undefined) return undefined;
  if (errno === Errno.ENOTSUPP) {
    // The usual try for a counter programs bump: its values need no shared word at all.
    const perCpu = isPerCpuMapType(r.kernel.type) ? "; a per-CPU map has no shared word to map or change atomically: " +
      "each CPU's program adds to its own slot with no atomics, and lookup gives every CPU's value to sum" : "";
    return `${only}; this map is a ${mapTypeName(r.kernel.type)}${perCpu}`;
  }
  if (errno === Errno.EINVAL && r.kernel.type === BPF_MAP_TYPE_ARRAY && (r.kernel.flags & BPF_F_MMAPABLE) === 0) {
    return `${only}; this one was made without it`;
  }
  return undefined;
}

/**
 * Why BPF_MAP_FREEZE said EBUSY: map_freeze refuses while the map has writers, and a writable
 * mapping of its values is one for as long as it exists (a write syscall only while it runs).
 */
export function freezeBusyRefusal(errno: number): string | undefined {
  if (errno !== Errno.EBUSY) return undefined;
  return "a writable mapping of its memory exists (memory(), here or in another process): " +
    "close it, or map with { writable: false }, before freezing";
}

/**
 * Why `memory()` mapped read-only when left to choose: the kernel refused PROT_WRITE on a
 * read-write fd, EPERM for a frozen map, EACCES for one made with BPF_F_RDONLY_PROG (bpf_map_mmap).
 * A later write's error says it, where "mapped read-only" alone would send the user to retry.
 */
export function readOnlyFallback(errno: number): string {
  const made = errno === Errno.EPERM ? "the map is frozen (BPF_MAP_FREEZE)" : "the map was made with BPF_F_RDONLY_PROG";
  return `memory() mapped it read-only because ${made}, and the kernel maps such a map writable for no one`;
}

/**
 * Why a create with BPF_F_MMAPABLE was refused, when the type is one that takes no such flag: the
 * kernel's bare EINVAL reads like a bad size, and a per-CPU array is the usual try for counters.
 */
export function mmapableFlagHint(mapType: number, flags: number, errno: number): string {
  if (errno !== Errno.EINVAL || (flags & BPF_F_MMAPABLE) === 0) return "";
  if (mapType === BPF_MAP_TYPE_ARRAY || mapType === BPF_MAP_TYPE_ARENA) return "";
  return ` (BPF_F_MMAPABLE is taken by an ARRAY (and an ARENA) only, not by a ${mapTypeName(mapType)})`;
}

/** A mapping lost without close() is unmapped when its MapMemory is collected: nothing else can reach it. */
const unmapLost = new FinalizationRegistry<{ driver: Driver; handle: number }>(({ driver, handle }) => {
  driver.munmap!(handle);
});

/**
 * The values of a `BPF_F_MMAPABLE` ARRAY, mapped (from `BpfMap.memory()`): value `i` is the
 * `valueSize` bytes at `i * stride`. Reads and writes are copies, with no syscall, and as atomic
 * as a copy is: a program writing a value at the same moment may be seen half-written; `word()`
 * gives one u32 or u64 to change atomically, as programs do. It holds
 * the map as an fd does: it outlives `close()` of the BpfMap, until its own `close()` (or until it
 * is garbage-collected). While a writable one exists the map cannot be frozen (EBUSY).
 */
export class MapMemory<V> implements Disposable {
  /** Bytes of the values: `maxEntries * stride`. */
  readonly size: number;
  /** Bytes from one value to the next: the value size rounded up to 8, as the kernel lays them. */
  readonly stride: number;
  /** The value size of the map. */
  readonly valueSize: number;
  /** Whether writes are allowed (mapped with PROT_WRITE). */
  readonly writable: boolean;
  readonly #driver: Driver;
  readonly #name: string;
  readonly #path: string;
  readonly #maxEntries: number;
  readonly #encode: MapMemoryInit<V>["encode"];
  readonly #decode: MapMemoryInit<V>["decode"];
  readonly #scratch: Uint8Array;
  readonly #readOnlyWhy: string | undefined;
  readonly #fields: Map<string, StructField> | undefined;
  readonly #codec: Codec<unknown> | undefined;
  /** The mapping until close() unmaps it (-1 then); a failed munmap leaves it for close() again. */
  #handle: number;
  #open = true;

  /** Made by `BpfMap.memory()`, which maps the pages first. */
  constructor(init: MapMemoryInit<V>) {
    this.#driver = init.driver;
    this.#handle = init.handle;
    this.writable = init.writable;
    this.#readOnlyWhy = init.readOnlyWhy;
    this.#fields = valueFieldsOf(init.codec);
    this.#codec = init.codec;
    this.#name = init.name;
    this.#path = init.path;
    this.valueSize = init.valueSize;
    this.#maxEntries = init.maxEntries;
    this.stride = Math.ceil(init.valueSize / 8) * 8;
    this.size = init.maxEntries * this.stride;
    this.#encode = init.encode;
    this.#decode = init.decode;
    this.#scratch = new Uint8Array(init.valueSize);
    unmapLost.register(this, { driver: init.driver, handle: init.handle }, this);
  }

  /** False once closed. */
  isOpen(): boolean {
    return this.#open;
  }

  /** Copies `dst.length` bytes from byte `offset` of the values into `dst`. */
  readAt(offset: number, dst: Uint8Array): void {
    this.#range("readAt", offset, dst, "dst");
    this.#check("mmapRead", this.#driver.mmapRead!(this.#live("readAt"), offset, dst), "readAt");
  }

  /** Copies `src` into the values at byte `offset`; programs and lookups see it at once. */
  writeAt(offset: number, src: Uint8Array): void {
    this.#range("writeAt", offset, src, "src");
    this.#writeChecked("writeAt", offset, src);
  }

  /** Value `index`, decoded with the map's value codec. */
  load(index: number): V {
    this.#index("load", index);
    const h = this.#live("load");
    this.#check("mmapRead", this.#driver.mmapRead!(h, index * this.stride, this.#scratch), "load");
    return this.#decode(this.#scratch, "load");
  }

  /** Writes value `index`, encoded with the map's value codec (bytes it leaves out are zero). */
  store(index: number, value: V): void {
    this.#index("store", index);
    this.#live("store");
    const out = this.#scratch;
    out.fill(0);
    this.#encode(value, "store", out);
    this.#writeChecked("store", index * this.stride, out);
  }

  /**
   * Field `name` of value `index`, where the value codec is a `struct()`: only that field's bytes
   * are read (cilium/ebpf's Variable.Get, for one variable of a `.bss`-like struct).
   */
  loadField<F extends MemoryFieldName<V>>(index: number, name: F): V[F] {
    const f = this.#field("loadField", index, name);
    const h = this.#live("loadField");
    const b = new Uint8Array(f.codec.size);
    this.#check("mmapRead", this.#driver.mmapRead!(h, index * this.stride + f.offset, b), "loadField");
    try {
      return f.codec.decode(b) as V[F];
    } catch (e) {
      throw this.#fieldError("loadField", `field "${name}" cannot be decoded`, e);
    }
  }

  /**
   * Writes field `name` of value `index` alone, where the value codec is a `struct()`; the other
   * fields' bytes are not touched, so a counter a program bumps beside it is never written back
   * stale, as `store` of the whole value (after a `load`) would (cilium/ebpf's Variable.Set).
   */
  storeField<F extends MemoryFieldName<V>>(index: number, name: F, value: V[F]): void {
    const f = this.#field("storeField", index, name);
    this.#live("storeField");
    const b = new Uint8Array(f.codec.size);
    try {
      f.codec.encode(value, b);
    } catch (e) {
      throw this.#fieldError("storeField", `bad value for field "${name}"`, e);
    }
    this.#writeChecked("storeField", index * this.stride + f.offset, b);
  }

  /**
   * Value `index` as an atomic word (its value codec 4 or 8 bytes: a u32 or u64), or its field
   * `field` where the codec is a `struct()` (a 4- or 8-byte field on a multiple of its size; a
   * struct value's word is always one of its fields, named). Each of the word's methods is one
   * atomic instruction, so nothing a program adds with `__sync_fetch_and_add` at the same moment is
   * lost: `word(0, "packets").exchange(0)` reads a counter and resets it. An `i32` or `i64` gives a
   * signed word; a big-endian (`be32`, `be64`, `ipv4`) or array field is refused, since a program's
   * atomics add in host byte order (`wordAt` takes its bytes as a host-order word anyway). Needs a
   * driver with `mmapAtomic` (both shipped drivers).
   */
  word(index: number, ...field: WordFieldArgs<V>): MappedWord {
    const op = "word";
    const name = field[0];
    let offset: number, codec: Codec<unknown> | undefined, what: string;
    if (name === undefined) {
      this.#index(op, index);
      [offset, codec, what] = [index * this.stride, this.#codec, `value ${index}`];
      if (this.#fields !== undefined) {
        const names = [...this.#fields.keys()];
        throw new TypeError(`${op} ${this.#name}: ${what} is a struct (${names.join(", ")}): name the field to take as a word, ` +
          `word(${index}, ${JSON.stringify(names[0] ?? "field")})`);
      }
    } else {
      const f = this.#field(op, index, name);
      [offset, codec, what] = [index * this.stride + f.offset, f.codec, `value ${index} field "${name}"`];
    }
    const size = codec?.size ?? this.valueSize;
    if (size !== 4 && size !== 8) {
      throw new TypeError(`${op} ${this.#name}: ${what} is ${size} bytes; an atomic word is 4 (a u32) or 8 (a u64)`);
    }
    const kind = wordKind(codec);
    if (typeof kind === "string") {
      throw new TypeError(`${op} ${this.#name}: ${what} is a ${kind}, not a host-order integer: a program's atomics add to a ` +
        `u32 or u64 (i32, i64) in host byte order, so an atomic op on it would garble it (wordAt(${offset}, ${size}) takes its bytes as one anyway)`);
    }
    if (offset % size !== 0) {
      throw new RangeError(`${op} ${this.#name}: ${what} is at byte ${offset % this.stride} of the value, not a multiple of its ${size} bytes: ` +
        "an atomic word must be naturally aligned (as the kernel's BPF_ATOMIC wants it)");
    }
    return this.#word(op, offset, size, what, kind);
  }

  /** The u32 (`size` 4) or u64 (`size` 8) at byte `offset` of the values (a multiple of `size`) as an atomic word; see `word`. */
  wordAt(offset: number, size: 4 | 8): MappedWord {
    const op = "wordAt";
    if (size !== 4 && size !== 8) {
      throw new TypeError(`${op} ${this.#name}: size must be 4 or 8, got ${describeValue(size)}`);
    }
    this.#isNumber(op, "offset", offset);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + size > this.size) {
      throw new RangeError(`${op} ${this.#name}: bytes ${String(offset)}..${String(offset + size)} are outside the ` +
        `${this.size} bytes of the values (${this.#maxEntries} × ${this.stride})`);
    }
    if (offset % size !== 0) throw new RangeError(`${op} ${this.#name}: offset ${offset} is not a multiple of ${size}: an atomic word must be naturally aligned`);
    return this.#word(op, offset, size, `bytes ${offset}..${offset + size}`, false);
  }

  /**
   * Unmaps the values (munmap); later calls throw. A munmap that fails is named in the error and
   * the mapping stays held: close() again retries it (as the collector does, for a MapMemory
   * dropped). Closing once it is unmapped is a no-op.
   */
  close(): void {
    const h = this.#handle;
    if (h < 0) return;
    this.#open = false;
    const error = releaseEach(this.#driver, { name: this.#name, path: this.#path }, "close", [{
      call: "munmap", what: "the values", run: () => this.#driver.munmap!(h),
      freed: () => {
        this.#handle = -1;
        unmapLost.unregister(this);
      },
    }]);
    if (error !== undefined) throw error;
  }

  /** `using mem = map.memory()` unmaps at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  #writeChecked(op: string, offset: number, src: Uint8Array): void {
    const h = this.#live(op);
    if (!this.writable) throw this.#readOnly(op);
    this.#check("mmapWrite", this.#driver.mmapWrite!(h, offset, src), op);
  }

  #readOnly(op: string): BpfError {
    return this.#error(op, Errno.EACCES, this.#readOnlyWhyText());
  }

  #readOnlyWhyText(): string {
    return this.#readOnlyWhy !== undefined ? `the memory is mapped read-only: ${this.#readOnlyWhy}`
      : "the memory is mapped read-only: map it with memory({ writable: true }), where the map allows it";
  }

  /**
   * A MappedWord over `size` bytes at `offset` (`what` to errors: "value 2 field \"hits\""),
   * checked by the caller; refused without the driver's mmapAtomic.
   */
  #word(op: string, offset: number, size: 4 | 8, what: string, signed: boolean): MappedWord {
    this.#live(op);
    const d = this.#driver;
    if (typeof d.mmapAtomic !== "function") {
      throw this.#error(op, Errno.EOPNOTSUPP, `driver ${JSON.stringify(d.kind)} has no mmapAtomic (an optional Driver method), so it cannot change mapped memory atomically`);
    }
    // A word's errors say which word, as its TypeErrors do: an agent may hold dozens of them.
    const fail = (method: string, errno: number, why?: string) => new BpfError({ errno, op: method, map: this.#name,
      path: this.#path || undefined, message: `${method} ${this.#name} ${what}: ${errnoText(errno)}${why !== undefined ? ` (${why})` : ""}` });
    return new MappedWord(offset, size, (method, atomicOp, operand, expected) => {
      const h = this.#handle;
      if (!this.#open) throw fail(method, Errno.EBADF, UNMAPPED);
      if (atomicOp !== "load" && !this.writable) throw fail(method, Errno.EACCES, this.#readOnlyWhyText());
      const r = d.mmapAtomic!(h, offset, size, atomicOp, operand, expected);
      if (typeof r === "bigint") return r;
      if (!isNegErrno(r)) throw driverContractError(d, "mmapAtomic", r, "a bigint");
      throw fail(method, -r);
    }, `${this.#name} ${what}`, signed);
  }

  #live(op: string): number {
    if (!this.#open) throw this.#error(op, Errno.EBADF, UNMAPPED);
    return this.#handle;
  }

  #range(op: string, offset: number, bytes: Uint8Array, what: string): void {
    this.#isNumber(op, "offset", offset);
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`${op} ${this.#name}: ${what} must be a Uint8Array`);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + bytes.length > this.size) {
      throw new RangeError(`${op} ${this.#name}: bytes ${String(offset)}..${String(offset + bytes.length)} are outside the ` +
        `${this.size} bytes of the values (${this.#maxEntries} × ${this.stride})`);
    }
  }

  /** A TypeError for an argument that is no number, before any arithmetic can concatenate or mix it. */
  #isNumber(op: string, what: string, v: unknown): void {
    if (typeof v !== "number") throw new TypeError(`${op} ${this.#name}: ${what} must be a number, got ${describeValue(v)}`);
  }

  #field(op: string, index: number, name: string): StructField {
    if (this.#fields === undefined) {
      // word() of such a value takes the value itself; loadField and storeField have load and store.
      const instead = op === "word" ? `word(${String(index)}) takes the value itself as the word` : "use load and store";
      throw new TypeError(`${op} ${this.#name}: the value codec is not a struct(), so its values have no fields: ${instead}`);
    }
    const f = this.#fields.get(name);
    if (f === undefined) {
      const known = [...this.#fields.keys()];
      const near = typeof name === "string" ? nearKey(name, known) : undefined;
      throw new TypeError(`${op} ${this.#name}: the value has no field ${JSON.stringify(name)} ` +
        `(${near !== undefined ? `did you mean "${near}"?` : `fields: ${known.join(", ")}`})`);
    }
    this.#index(op, index);
    return f;
  }

  /** A codec's error for one field, named by the map and op, of the same class (RangeError or TypeError). */
  #fieldError(op: string, what: string, e: unknown): Error {
    const err = e instanceof Error ? e : new Error(String(e));
    const Ctor = err instanceof RangeError ? RangeError : TypeError;
    return new Ctor(`${op} ${this.#name}: ${what}: ${err.message}`, { cause: e });
  }

  #index(op: string, index: number): void {
    this.#isNumber(op, "index", index);
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.#maxEntries) {
      throw new RangeError(`${op} ${this.#name}: index ${String(index)} is outside the array (0..${this.#maxEntries - 1})`);
    }
  }

  #check(method: string, r: number, op: string): void {
    checkMappingCall(this.#driver, { name: this.#name, path: this.#path }, method, r, op);
  }

  #error(op: string, errno: number, why?: string): BpfError {
    return mappingError({ name: this.#name, path: this.#path }, op, errno, why);
  }
}
