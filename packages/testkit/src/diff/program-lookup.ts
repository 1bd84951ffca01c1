// bpf_map_lookup_elem as a BPF program calls it. Unlike the syscall's lookup it marks an LRU
// element referenced (bpf_lru_node_set_ref), the second chance an LRU's rotation and shrink give
// (kernel-maps.md §7.1): without such lookups a program's LRU elements are marked only by updates
// that replace them. On the kernel a socket filter is loaded and run once by BPF_PROG_TEST_RUN on
// the calling thread's CPU (the runner pins LRU eviction to CPU 0); on the simulator its datapath
// looks the key up on CPU 0.
import { type Driver, Errno, errnoName } from "@bpfkit/core";
import { isSimDriver } from "../dump-fuzz/sim-datapath.js";
import { add, call, exit, insn, jne0, ldImm64, mov, movReg, storeBytes } from "../ringbuf/programs.js";

/** What a program's lookup of `key` in the map `mapFd` (values of `valueSize` bytes, one CPU's) saw, as a line. */
export type ProgramLookup = (mapFd: number, key: Uint8Array, valueSize: number) => string;

const MAP_LOOKUP_ELEM = 1;
const SOCKET_FILTER = 1;
const R0 = 0, R1 = 1, R2 = 2, R10 = 10;
/** A socket filter's smallest packet: an Ethernet header (ETH_HLEN). */
const PACKET = new Uint8Array(14);
/** The program's answer for a value found: this bit and the value's first byte. */
const FOUND = 0x100;

const line = (r: number) => (r & FOUND ? `found, value[0] ${(r & 0xff).toString(16).padStart(2, "0")}` : "NULL");

/** r0 = bpf_map_lookup_elem(map, key on the stack); NULL returns 0, a value FOUND | its first byte. */
export function lookupProgram(mapFd: number, key: Uint8Array): Uint8Array {
  const room = Math.max(8, Math.ceil(key.length / 8) * 8);
  return Uint8Array.from([
    ...(key.length === 0 ? insn(0x7a, R10, 0, -8, 0) : storeBytes(R10, -room, key)),
    ...ldImm64(R1, BigInt(mapFd), 1),
    ...movReg(R2, R10), ...add(R2, -room),
    ...call(MAP_LOOKUP_ELEM),
    ...jne0(R0, 2),
    ...mov(R0, 0),
    ...exit(),
    ...insn(0x71, R0, R0, 0, 0), // r0 = *(u8 *)(r0 + 0)
    ...insn(0x47, R0, 0, 0, FOUND), // r0 |= FOUND (BPF_ALU64 | BPF_OR | BPF_K)
    ...exit(),
  ]);
}

/** A program lookup on `driver`: the simulator's datapath, or a kernel driver's test runs; undefined for neither. */
export function programLookupFor(driver: Driver): ProgramLookup | undefined {
  if (isSimDriver(driver)) {
    return (mapFd, key, valueSize) => {
      const value = new Uint8Array(Math.max(1, valueSize));
      const r = driver.datapath.lookup({ fd: mapFd }, key, value, 0);
      return r === 0 ? line(FOUND | value[0]!) : r === -Errno.ENOENT ? "NULL" : `refused ${errnoName(-r)}`;
    };
  }
  const testRun = driver.progTestRun?.bind(driver);
  if (testRun === undefined) return undefined;
  return (mapFd, key) => {
    const fd = driver.progLoad({ progType: SOCKET_FILTER, insns: lookupProgram(mapFd, key), license: "GPL", progName: "bpfkit_lookup" });
    // A map the verifier refuses (RDONLY/WRONLY_PROG): the datapath refuses it with the same errno.
    if (fd < 0) return `refused ${errnoName(-fd)}`;
    try {
      const r = testRun(fd, { dataIn: PACKET });
      return r.errno !== 0 ? `run ${errnoName(r.errno)}` : line(r.retval >>> 0);
    } finally {
      driver.close(fd);
    }
  };
}
