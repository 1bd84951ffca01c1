// Loads the map engine (assembly/ → build/engine.wasm, embedded as base64) synchronously.
// No `node:` import: this runs on any OS and in browsers. Each call makes a fresh instance, so each
// simulator is its own world; the compiled module is shared.
import type { EngineExports } from "./engine-abi.js";
import { ENGINE_WASM_BASE64 } from "./engine-wasm.generated.js";

const ENOMEM = 12;

// The part of the WebAssembly JS API the loader uses, declared for this file only: the package
// builds without DOM's lib (so no DOM type can reach its .d.ts), and @types/node 20 has none.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: object);
    readonly exports: object;
  }
  interface Memory {
    readonly buffer: ArrayBuffer;
  }
}

let compiled: WebAssembly.Module | undefined;

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** Thrown when the engine aborts: a bug in the engine, never an answer to bad input. */
export class EngineAbortError extends Error {
  constructor(message: string) {
    super(`bpfkit wasm engine aborted: ${message}`);
    this.name = "EngineAbortError";
  }
}

function readString(memory: WebAssembly.Memory, ptr: number): string {
  // AssemblyScript strings: UTF-16 code units, byte length in the u32 before the data.
  if (ptr === 0) return "";
  const buf = memory.buffer;
  const len = new Uint32Array(buf, ptr - 4, 1)[0]! >>> 1;
  return String.fromCharCode(...new Uint16Array(buf, ptr, len));
}

interface RawExports {
  memory: WebAssembly.Memory;
  scratch(bytes: number): number;
  setMemoryLimit(bytes: number): void;
  memoryUsed(): number;
  jhash(keyPtr: number, length: number, seed: number): number;
}

/**
 * A fresh instance of the map engine (the module is compiled once per process). `createSimDriver`
 * makes one unless given `engine`; testkit's `simulatorPerCase` passes one on to the next
 * simulator when the last holds no map, which saves an instantiation per case.
 */
export function instantiateEngine(): EngineExports {
  compiled ??= new WebAssembly.Module(decodeBase64(ENGINE_WASM_BASE64));
  let memory: WebAssembly.Memory | undefined;
  const imports = {
    env: {
      abort(msg: number, file: number, line: number, column: number): never {
        const where = memory ? `${readString(memory, file)}:${line}:${column}` : `${line}:${column}`;
        throw new EngineAbortError(`${memory ? readString(memory, msg) : "abort"} at ${where}`);
      },
    },
  };
  const instance = new WebAssembly.Instance(compiled, imports);
  const raw = instance.exports as unknown as RawExports & EngineExports;
  memory = raw.memory;
  // Pointers and sizes are u32 in the engine; wasm hands them to JS as i32.
  const rawScratch = raw.scratch;
  const rawUsed = raw.memoryUsed;
  const rawJhash = raw.jhash;
  const rawMmapBase = raw.mapMmapBase;
  return Object.freeze({
    ...raw,
    memory: raw.memory,
    scratch(bytes: number): number {
      const p = rawScratch(bytes >>> 0);
      return p === 0 ? -ENOMEM : p >>> 0;
    },
    memoryUsed(): number {
      return rawUsed() >>> 0;
    },
    jhash(keyPtr: number, length: number, seed: number): number {
      return rawJhash(keyPtr, length, seed) >>> 0;
    },
    mapMmapBase(h: number): number {
      return rawMmapBase(h) >>> 0;
    },
  }) as EngineExports;
}
