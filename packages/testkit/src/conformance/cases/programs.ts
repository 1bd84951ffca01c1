// PROG_LOAD as 6.18 answers it for the programs bpfkit and its feature probes load: the attr
// rules of bpf_prog_load (attach types, per-type return ranges), ld_imm64 map references, and
// the bpf_prog_info a loaded program reports. Checked as root on this kernel.
import type { ConformanceCase } from "../types.js";
import type { Expect } from "../assert.js";
import { readU32 } from "../context.js";
import type { CaseContext } from "../context.js";
import { ARRAY, Checks, HASH, PERCPU_ARRAY } from "./common.js";

/** One 8-byte instruction. */
export function insn(code: number, dst = 0, src = 0, off = 0, imm = 0): number[] {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  b[0] = code;
  b[1] = dst | (src << 4);
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return [...b];
}

export const EXIT = insn(0x95);

/** r0 = imm; exit */
export function ret(imm: number): Uint8Array {
  return Uint8Array.from([...insn(0xb7, 0, 0, 0, imm), ...EXIT]);
}

/** ld_imm64 r`dst` with src_reg `src`, imm `lo` and second half imm `hi`. */
export function ldImm64(dst: number, src: number, lo: number, hi = 0): number[] {
  return [...insn(0x18, dst, src, 0, lo), ...insn(0, 0, 0, 0, hi)];
}

/** PROG_LOAD's raw result; an fd it returns is closed after the case. */
export function load(ctx: CaseContext, progType: number, insns: Uint8Array | number[], expectedAttachType = 0, license = "GPL"): number {
  const bytes = insns instanceof Uint8Array ? insns : Uint8Array.from(insns);
  return ctx.own(ctx.driver.progLoad({ progType, insns: bytes, license, expectedAttachType }));
}

/** The bpf_prog_info fields these cases compare. */
export function progInfo(ctx: CaseContext, fd: number): { tag: string; xlated: number; verified: number; nrMapIds: number; ksyms: number; funcLens: number } {
  const b = new Uint8Array(232);
  const r = ctx.driver.objGetInfoByFd(fd, b);
  if (r < 0) throw new Error(`OBJ_GET_INFO_BY_FD of a program failed (${r})`);
  const tag = Array.from(b.subarray(8, 16), (x) => x.toString(16).padStart(2, "0")).join("");
  return { tag, xlated: readU32(b, 20), nrMapIds: readU32(b, 52), ksyms: readU32(b, 104), funcLens: readU32(b, 108), verified: readU32(b, 216) };
}

const SOCKET_FILTER = 1, KPROBE = 2, CGROUP_SKB = 8, CGROUP_SOCK = 9, CGROUP_SOCK_ADDR = 18, LIRC_MODE2 = 20, SK_REUSEPORT = 21,
  TRACING = 26, STRUCT_OPS = 27, SK_LOOKUP = 30, SYSCALL = 31, NETFILTER = 32;
const INET4_CONNECT = 10, UDP4_RECVMSG = 19;

/** r0 = r2 with r2 never written: the walk would refuse it (EACCES). */
const R0_UNSET = [...insn(0xbf, 0, 2), ...EXIT];

/** ld_imm64 r1 = map `fd`; r0 = 0; exit: a program that only references the map. */
const usingMap = (fd: number): number[] => [...ldImm64(1, 1, fd), ...insn(0xb7), ...EXIT];

export const progInfoCases: ConformanceCase[] = [
  {
    name: "prog info: map_ids lists the maps in the order the program first uses them, nr_map_ids counts all; a map's fd is EINVAL",
    group: "prog-load",
    run(ctx) {
      const c = new Checks("map_ids");
      const a = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const b = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const d = ctx.driver;
      const fd = load(ctx, SOCKET_FILTER, [...ldImm64(1, 1, b), ...ldImm64(1, 1, a), ...ldImm64(1, 1, b), ...insn(0xb7), ...EXIT]);
      if (c.result(fd, "OK", "load of a program using b, a, b")) {
        const room = new Uint32Array(4).fill(0xdeadbeef);
        c.equal(d.progGetMapIds(fd, room), 2, "nr_map_ids, with room for 4");
        c.equal([...room].join(), [ctx.id(b), ctx.id(a), 0xdeadbeef, 0xdeadbeef].join(), "the ids, and the room past them untouched");
        const one = new Uint32Array(1);
        c.equal(d.progGetMapIds(fd, one), 2, "nr_map_ids, with room for 1");
        c.equal(one[0], ctx.id(b), "the one id written");
        c.equal(d.progGetMapIds(fd, new Uint32Array(0)), 2, "nr_map_ids, with no room");
      }
      c.equal(d.progGetMapIds(load(ctx, SOCKET_FILTER, ret(0)), new Uint32Array(2)), 0, "a program that uses no map");
      // The Driver's rule: a map has no map ids (the kernel would fill its bpf_map_info).
      const untouched = new Uint32Array([7, 7]);
      c.result(d.progGetMapIds(a, untouched), "EINVAL", "a map's fd");
      c.equal([...untouched].join(), "7,7", "a map's fd writes no ids");
      c.result(d.progGetMapIds(0, new Uint32Array(1)), "EINVAL", "stdin");
      c.result(d.progGetMapIds(ctx.closedFd(), new Uint32Array(1)), "EBADFD", "a closed fd");
      c.done();
    },
  },
  {
    name: "prog info: nr_jited_ksyms and nr_jited_func_lens are 1 for a program of one function; xlated and verified counts",
    group: "prog-load",
    run(ctx) {
      const c = new Checks("prog info");
      const fd = load(ctx, 1, ret(0));
      if (c.result(fd, "OK", "load r0 = 0; exit")) {
        const i = progInfo(ctx, fd);
        c.equal(i.ksyms, 1, "nr_jited_ksyms (func_cnt ?: 1)");
        c.equal(i.funcLens, 1, "nr_jited_func_lens (func_cnt ?: 1)");
        c.equal(i.xlated, 16, "xlated_prog_len");
        c.equal(i.verified, 2, "verified_insns");
      }
      c.done();
    },
  },
];

type LoadRow = readonly [what: string, progType: number, expectedAttachType: number, insns: number[] | Uint8Array, want: Expect, license?: string];

function checkLoads(ctx: CaseContext, c: Checks, rows: readonly LoadRow[]): void {
  for (const [what, type, ea, insns, want, license] of rows) c.result(load(ctx, type, insns, ea, license), want, what);
}

export const progLoadCases: ConformanceCase[] = [
  {
    name: "prog load: attach types and return ranges per program type (bpf_prog_load_check_attach, check_return_code)",
    group: "prog-load",
    run(ctx) {
      const c = new Checks("PROG_LOAD rules");
      checkLoads(ctx, c, [
        // bpf_prog_load_fixup_attach_type: no attach type means the first one.
        ["sk_reuseport without an attach type (SELECT)", SK_REUSEPORT, 0, ret(0), "OK"],
        ["sk_reuseport SELECT_OR_MIGRATE", SK_REUSEPORT, 40, ret(0), "OK"],
        ["sk_reuseport with attach type 1", SK_REUSEPORT, 1, ret(0), "EINVAL"],
        ["cgroup_sock without an attach type (SOCK_CREATE)", CGROUP_SOCK, 0, ret(1), "OK"],
        // sk_lookup: BPF_SK_LOOKUP only, r0 in [SK_DROP, SK_PASS].
        ["sk_lookup without an attach type", SK_LOOKUP, 0, ret(0), "EINVAL"],
        ["sk_lookup r0 = 1", SK_LOOKUP, 36, ret(1), "OK"],
        ["sk_lookup r0 = 2", SK_LOOKUP, 36, ret(2), "EINVAL"],
        // netfilter: BPF_NETFILTER only, r0 in [NF_DROP, NF_ACCEPT].
        ["netfilter without an attach type", NETFILTER, 0, ret(0), "EINVAL"],
        ["netfilter attach type 1", NETFILTER, 1, ret(0), "EINVAL"],
        ["netfilter r0 = 1", NETFILTER, 45, ret(1), "OK"],
        ["netfilter r0 = 2", NETFILTER, 45, ret(2), "EINVAL"],
        // kprobe sessions return whether to run the return probe: 0 or 1. Plain kprobes anything.
        ["kprobe r0 = 2", KPROBE, 0, ret(2), "OK"],
        ["kprobe session r0 = 1", KPROBE, 56, ret(1), "OK"],
        ["kprobe session r0 = 2", KPROBE, 56, ret(2), "EINVAL"],
        ["uprobe session r0 = 2", KPROBE, 57, ret(2), "EINVAL"],
        ["uprobe session r0 = -1", KPROBE, 57, ret(-1), "EINVAL"],
        // cgroup_sock_addr recvmsg, getpeername and getsockname hooks must return 1.
        ["cgroup_sock_addr udp4 recvmsg r0 = 0", CGROUP_SOCK_ADDR, UDP4_RECVMSG, ret(0), "EINVAL"],
        ["cgroup_sock_addr udp4 recvmsg r0 = 1", CGROUP_SOCK_ADDR, UDP4_RECVMSG, ret(1), "OK"],
        ["cgroup_sock_addr inet4 connect r0 = 0", CGROUP_SOCK_ADDR, INET4_CONNECT, ret(0), "OK"],
        // Not built here (CONFIG_BPF_LIRC_MODE2): find_prog_type refuses it.
        ["lirc_mode2", LIRC_MODE2, 0, ret(0), "EINVAL"],
        ["lirc_mode2 with an unset r0", LIRC_MODE2, 0, R0_UNSET, "EINVAL"],
      ]);
      c.done();
    },
  },
  {
    name: "prog load: syscall, struct_ops and tracing programs without BTF fail in check_attach_btf_id, after the map fds and before the walk",
    group: "prog-load",
    run(ctx) {
      const c = new Checks("check_attach_btf_id");
      const closed = ctx.closedFd();
      checkLoads(ctx, c, [
        // Syscall programs must be sleepable (BPF_F_SLEEPABLE, which ProgLoadAttr cannot carry).
        ["syscall", SYSCALL, 0, ret(0), "EINVAL"],
        ["syscall with an attach type", SYSCALL, 1, ret(0), "EINVAL"],
        ["syscall referencing a closed map fd (resolve_pseudo_ldimm64 first)", SYSCALL, 0, usingMap(closed), "EBADF"],
        ["syscall with an attach type, referencing a closed map fd (bpf_prog_load_check_attach first)", SYSCALL, 1, usingMap(closed), "EINVAL"],
        ["syscall with an unset r0 (refused before the walk)", SYSCALL, 0, R0_UNSET, "EINVAL"],
        // struct_ops: a GPL license first, then the missing attach_btf_id (ENOTSUPP).
        ["struct_ops", STRUCT_OPS, 0, ret(0), "ENOTSUPP"],
        ["struct_ops with an unset r0", STRUCT_OPS, 0, R0_UNSET, "ENOTSUPP"],
        ["struct_ops referencing a closed map fd", STRUCT_OPS, 0, usingMap(closed), "EBADF"],
        // check_cfg before check_attach_btf_id: a jump into an ld_imm64's second half.
        ["struct_ops jumping into an ld_imm64", STRUCT_OPS, 0, [...insn(0x15, 1, 0, 1), ...ldImm64(1, 0, 7), ...insn(0xb7), ...EXIT], "EINVAL"],
        ["struct_ops, not GPL", STRUCT_OPS, 0, ret(0), "EINVAL", "Proprietary"],
        // license_is_gpl_compatible: these exact strings (strcmp, so "gpl" is not one).
        ...["GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"].map(
          (l): LoadRow => [`struct_ops, license ${l}`, STRUCT_OPS, 0, ret(0), "ENOTSUPP", l]),
        ["struct_ops, license gpl", STRUCT_OPS, 0, ret(0), "EINVAL", "gpl"],
        // Tracing programs must name a BTF id. (fentry, fexit, fmod_ret, LSM and EXT programs
        // answer EPERM on this machine before any check: see docs/simulator-exactness.md.)
        ["tracing raw_tp", TRACING, 23, ret(0), "EINVAL"],
        ["tracing iter with an unset r0", TRACING, 28, R0_UNSET, "EINVAL"],
        ["tracing referencing a closed map fd", TRACING, 23, usingMap(closed), "EBADF"],
      ]);
      c.done();
    },
  },
  {
    name: "prog load: resolve_pseudo_ldimm64 checks each insn in order (LDX reserved fields, a map ld_imm64's second imm) and takes at most 64 maps",
    group: "prog-load",
    run(ctx) {
      const c = new Checks("resolve_pseudo_ldimm64");
      const closed = ctx.closedFd();
      const ldxImm1 = insn(0x61, 0, 10, -4, 1); // r0 = *(u32 *)(r10 - 4) with imm 1
      checkLoads(ctx, c, [
        ["LDX with imm 1, then a closed map fd (the LDX first)", SOCKET_FILTER, 0, [...ldxImm1, ...usingMap(closed)], "EINVAL"],
        ["map fd ld_imm64 whose second half has imm 1 (before the fd)", SOCKET_FILTER, 0, [...ldImm64(1, 1, closed, 1), ...insn(0xb7), ...EXIT], "EINVAL"],
        // check_subprogs runs before it: a jump just past the end is refused before any fd.
        ["a closed map fd, then a jump to one past the last insn", SOCKET_FILTER, 0, [...ldImm64(1, 1, closed), ...insn(0x05, 0, 0, 1), ...EXIT], "EINVAL"],
        // The last insn may be a gotol (JMP32 | JA, offset in imm): r0 = 0; gotol +1; exit; gotol -2.
        ["a program ending in gotol", SOCKET_FILTER, 0, [...insn(0xb7), ...insn(0x06, 0, 0, 0, 1), ...EXIT, ...insn(0x06, 0, 0, 0, -2)], "OK"],
      ]);
      // MAX_USED_MAPS: 64 distinct maps load, a 65th is E2BIG.
      const maps = Array.from({ length: 65 }, () => ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 }));
      const using = (fds: number[]) => [...fds.flatMap((fd) => ldImm64(1, 1, fd)), ...insn(0xb7), ...EXIT];
      c.result(load(ctx, SOCKET_FILTER, using(maps.slice(0, 64))), "OK", "64 maps");
      c.result(load(ctx, SOCKET_FILTER, using(maps)), "E2BIG", "65 maps");
      c.done();
    },
  },
  {
    name: "prog load: ld_imm64 BPF_PSEUDO_MAP_VALUE points into the value of a one-element ARRAY (array_map_direct_value_addr)",
    group: "prog-load",
    run(ctx) {
      const arr1 = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
      const arr2 = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 });
      const hash = ctx.create({ mapType: HASH, keySize: 4, valueSize: 8, maxEntries: 1 });
      const pcpu = ctx.create({ mapType: PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
      /** r2 = &value[off] of `fd`, then `tail`, then exit. */
      const value = (fd: number, off: number, tail: number[] = insn(0xb7)) => [...ldImm64(2, 2, fd, off), ...tail, ...EXIT];
      const c = new Checks("BPF_PSEUDO_MAP_VALUE");
      checkLoads(ctx, c, [
        ["ARRAY of 1, offset 0", SOCKET_FILTER, 0, value(arr1, 0), "OK"],
        ["ARRAY of 1, offset 7", SOCKET_FILTER, 0, value(arr1, 7), "OK"],
        ["ARRAY of 1, offset 8 (the value size)", SOCKET_FILTER, 0, value(arr1, 8), "EINVAL"],
        ["ARRAY of 1, offset 2^29", SOCKET_FILTER, 0, value(arr1, 1 << 29), "EINVAL"],
        ["ARRAY of 1, offset 2^32 - 1", SOCKET_FILTER, 0, value(arr1, -1), "EINVAL"],
        ["ARRAY of 2, offset 0", SOCKET_FILTER, 0, value(arr2, 0), "ENOTSUPP"],
        ["ARRAY of 2, offset 2^29 (the offset is checked first)", SOCKET_FILTER, 0, value(arr2, 1 << 29), "EINVAL"],
        ["HASH", SOCKET_FILTER, 0, value(hash, 0), "EINVAL"],
        ["PERCPU_ARRAY of 1", SOCKET_FILTER, 0, value(pcpu, 0), "EINVAL"],
        ["a closed fd", SOCKET_FILTER, 0, value(ctx.closedFd(), 0), "EBADF"],
        ["stdin", SOCKET_FILTER, 0, value(0, 0), "EINVAL"],
        // The pointer is a map value: arithmetic is allowed, it is never NULL, and it is not a
        // scalar return value.
        ["r2 += 4; r0 = r2 (a socket filter may return it)", SOCKET_FILTER, 0, value(arr1, 0, [...insn(0x07, 2, 0, 0, 4), ...insn(0xbf, 0, 2)]), "OK"],
        ["r0 = the pointer from a cgroup_skb program", CGROUP_SKB, 0, value(arr1, 0, insn(0xbf, 0, 2)), "EINVAL"],
        ["if r2 == 0 (never) r0 = 2 in a cgroup_skb program", CGROUP_SKB, 0,
          value(arr1, 0, [...insn(0xb7), ...insn(0x55, 2, 0, 1, 0), ...insn(0xb7, 0, 0, 0, 2)]), "OK"],
        ["r2 *= 2", SOCKET_FILTER, 0, value(arr1, 0, [...insn(0x27, 2, 0, 0, 2), ...insn(0xb7)]), "EACCES"],
      ]);
      const fd = load(ctx, SOCKET_FILTER, value(arr1, 4));
      if (c.result(fd, "OK", "load for info")) {
        const i = progInfo(ctx, fd);
        c.equal(i.nrMapIds, 1, "nr_map_ids");
        // bpf_prog_calc_tag zeroes the fd and the offset, so the tag is the same everywhere.
        c.equal(i.tag, "27a7675d0e795e10", "tag");
      }
      c.done();
    },
  },
];

/** A row of the rewrite table: the program and what the kernel reports for it (or its errno). */
type RewriteRow = readonly [what: string, progType: number, insns: number[], want: readonly [xlatedBytes: number, verifiedInsns: number] | Expect];

const r0 = (imm: number) => insn(0xb7, 0, 0, 0, imm);
const r0r2 = (op: number, off = 0) => [...insn(0xb7, 0, 0, 0, 10), ...insn(0xb7, 2, 0, 0, 3), ...insn(op, 0, 2, off), ...EXIT];

/** Four branches on an unknown value, each adding 1 to r3: enough for checkpoints and pruning. */
function pruningChain(): number[] {
  const out = [...insn(0xb7, 3), ...insn(0xbc, 2, 1), ...r0(0)];
  for (let k = 0; k < 4; k++) out.push(...insn(0x25, 2, 0, 1, k * 10), ...insn(0x07, 3, 0, 0, 1));
  return [...out, ...EXIT];
}

/** Six branches whose only effect is a register nothing reads afterwards: later paths prune. */
function pruningDeadRegister(): number[] {
  const out = [...insn(0xbc, 2, 1), ...r0(0), ...insn(0xb7, 3)];
  for (let k = 0; k < 6; k++) out.push(...insn(0x25, 2, 0, 1, k), ...insn(0xb7, 4, 0, 0, k));
  return [...out, ...EXIT];
}

const rewriteRows: readonly RewriteRow[] = [
  // do_misc_fixups guards division and modulo by a register against 0 (and -1 when signed).
  ["r0 /= r2", SOCKET_FILTER, r0r2(0x3f), [56, 4]],
  ["r0 %= r2", SOCKET_FILTER, r0r2(0x9f), [40, 4]],
  ["w0 /= w2", SOCKET_FILTER, r0r2(0x3c), [56, 4]],
  ["w0 %= w2", SOCKET_FILTER, r0r2(0x9c), [56, 4]],
  ["r0 s/= r2", SOCKET_FILTER, r0r2(0x3f, 1), [88, 4]],
  ["r0 s%= r2", SOCKET_FILTER, r0r2(0x9f, 1), [80, 4]],
  ["w0 s/= w2", SOCKET_FILTER, r0r2(0x3c, 1), [88, 4]],
  ["w0 s%= w2", SOCKET_FILTER, r0r2(0x9c, 1), [96, 4]],
  ["r0 s/= -1 (becomes a neg)", SOCKET_FILTER, [...r0(10), ...insn(0x37, 0, 0, 1, -1), ...EXIT], [24, 3]],
  ["r0 /= 3 (by a constant: unchanged)", SOCKET_FILTER, [...r0(10), ...insn(0x37, 0, 0, 0, 3), ...EXIT], [24, 3]],
  // opt_remove_nops drops `ja +0`, not `gotol +0`.
  ["ja +0", SOCKET_FILTER, [...r0(1), ...insn(0x05), ...EXIT], [16, 3]],
  ["gotol +0", SOCKET_FILTER, [...r0(1), ...insn(0x06), ...EXIT], [24, 3]],
  ["gotol +1 over an insn nothing else reaches", SOCKET_FILTER, [...r0(1), ...insn(0x06, 0, 0, 0, 1), ...r0(2), ...EXIT], "EINVAL"],
  // A branch on a known value is followed one way; the other side is dead code, removed.
  ["r0 = 1; if r0 == 1 goto +1; r0 = 2", SOCKET_FILTER, [...r0(1), ...insn(0x15, 0, 0, 1, 1), ...r0(2), ...EXIT], [16, 3]],
  ["r0 = 1; if r0 == 2 goto +1; r0 = 2", SOCKET_FILTER, [...r0(1), ...insn(0x15, 0, 0, 1, 2), ...r0(2), ...EXIT], [32, 4]],
  // Comparisons that decide nothing are walked both ways.
  ["if r1 == r1 (ctx)", SOCKET_FILTER, [...r0(0), ...insn(0x1d, 1, 1, 1), ...r0(1), ...EXIT], [32, 5]],
  ["if r1 == 0 (ctx may be NULL to the verifier)", SOCKET_FILTER, [...r0(0), ...insn(0x15, 1, 0, 1, 0), ...r0(1), ...EXIT], [32, 5]],
  ["if w2 > 5 on an unknown u32", SOCKET_FILTER, [...insn(0xbc, 2, 1), ...r0(0), ...insn(0x26, 2, 0, 1, 5), ...r0(1), ...EXIT], [40, 6]],
  ["a backward jump that closes no loop", SOCKET_FILTER, [...r0(0), ...insn(0x15, 1, 0, 2, 0), ...r0(1), ...EXIT, ...insn(0x05, 0, 0, -3)], [40, 7]],
  // Value tracking decides return ranges.
  ["cgroup_skb: w0 = unknown; r0 &= 1", CGROUP_SKB, [...insn(0xbc, 0, 1), ...insn(0x57, 0, 0, 0, 1), ...EXIT], [24, 3]],
  ["cgroup_skb: w0 = unknown; r0 &= 3", CGROUP_SKB, [...insn(0xbc, 0, 1), ...insn(0x57, 0, 0, 0, 3), ...EXIT], "EINVAL"],
  ["cgroup_skb: if r0 > 1 exit with 0", CGROUP_SKB, [...insn(0xbc, 0, 1), ...insn(0x25, 0, 0, 1, 1), ...EXIT, ...r0(0), ...EXIT], [40, 5]],
  ["cgroup_skb: w2 s>>= 31; r2 &= 1 (walked as 0 and as -1)", CGROUP_SKB,
    [...insn(0xbc, 2, 1), ...insn(0xc4, 2, 0, 0, 31), ...insn(0x57, 2, 0, 0, 1), ...insn(0xbf, 0, 2), ...EXIT], [40, 8]],
  ["cgroup_skb: r0 = (s8)0x181 + 128", CGROUP_SKB, [...r0(0x181), ...insn(0xbf, 0, 0, 8), ...insn(0x07, 0, 0, 0, 128), ...EXIT], [32, 4]],
  // State pruning: what the kernel's checkpoints cut from the walk.
  ["four branches on an unknown value", SOCKET_FILTER, pruningChain(), [96, 28]],
  ["six branches setting a dead register", SOCKET_FILTER, pruningDeadRegister(), [128, 52]],
];

export const progRewriteCases: ConformanceCase[] = [
  {
    name: "prog load: verified_insns and xlated_prog_len after the verifier's walk, dead-code removal and fixups",
    group: "prog-load",
    run(ctx) {
      const c = new Checks("verifier walk and rewrites");
      for (const [what, type, insns, want] of rewriteRows) {
        const fd = load(ctx, type, insns);
        if (typeof want === "string") {
          c.result(fd, want, what);
          continue;
        }
        if (!c.result(fd, "OK", what)) continue;
        const i = progInfo(ctx, fd);
        c.equal(`${i.xlated}/${i.verified}`, `${want[0]}/${want[1]}`, `${what}: xlated_prog_len/verified_insns`);
      }
      c.done();
    },
  },
];
