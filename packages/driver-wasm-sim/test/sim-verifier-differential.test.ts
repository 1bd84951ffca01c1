// The verifier differential: random loop-free programs of the instructions the simulator's
// verifier models (ALU and ALU32 on constants, unknown scalars and pointers, ld_imm64 of
// constants, maps and map values, conditional and unconditional jumps, exits), loaded as
// several program types on the simulator and on this machine's kernel. The errno, and for a
// loaded program xlated_prog_len and verified_insns, must be the same: that checks the walk, the
// value tracking, precision and pruning, and the rewrites at once. Fixed seeds, a few seconds;
// BPFKIT_SIM_SOAK=<n> multiplies the programs, BPFKIT_SIM_SEED picks other seeds.
import type { Driver } from "@bpfkit/core";
import { afterAll, describe, expect, it } from "vitest";
import { kernel, kernelDriver, sim } from "./sim-helpers.js";

const SOAK = Math.max(1, Number(process.env.BPFKIT_SIM_SOAK ?? 1));
const SEED = Number(process.env.BPFKIT_SIM_SEED ?? 20260422);

interface Insn { code: number; dst: number; src: number; off: number; imm: number; map?: number; jump?: "cond" | "ja" }

/** xorshift32: the same programs on every run for a seed. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  return { next, int, pick };
}

const IMMS = [0, 1, 2, 3, -1, 7, 8, 0x7f, 0xff, 0x100, 0xffff, 0x7fffffff, -0x80000000, 31, 32, 63, 5, 16, 0x80];
const I = (code: number, dst = 0, src = 0, off = 0, imm = 0): Insn => ({ code, dst, src, off, imm });

type Profile = "short" | "branchy" | "copies";

/**
 * A program: registers set up as constants, unknown u32s (w = w1) or pointers, then a random
 * body. "branchy" has more jumps; "copies" mostly copies registers and adds constants to them,
 * which links scalars.
 */
function generate(r: ReturnType<typeof rng>, profile: Profile): Insn[] {
  const branchy = profile !== "short";
  const ins: Insn[] = [];
  for (const reg of [0, 2, 3, 4, 5]) {
    if (r.next() < 0.03) continue;
    const k = r.next();
    if (k < 0.4) ins.push(I(0xb7, reg, 0, 0, r.pick(IMMS)));
    else if (k < 0.55) ins.push(I(0xb4, reg, 0, 0, r.pick(IMMS)));
    else if (k < 0.75) ins.push(I(0xbc, reg, 1));
    else if (k < 0.85) ins.push(I(0xbc, reg, 1), I(0x57, reg, 0, 0, r.pick([1, 3, 0xff, 0x100, 0xf0f])));
    else if (k < 0.9) ins.push(I(0xbf, reg, r.pick([1, 10])));
    else ins.push(I(0xbf, reg, r.pick([0, 1, 2, 3, 4].filter((x) => x < reg))));
  }
  const len = 3 + r.int(branchy ? 40 : 14);
  for (let k = 0; k < len; k++) {
    const x = branchy ? 0.25 + r.next() * 0.66 : r.next();
    if (x < 0.55) {
      const alu64 = r.next() < 0.6;
      const op = profile === "copies"
        ? r.pick([0x00, 0x10, 0x00, 0x10, 0xb0, 0xb0, 0xb0, 0x50, 0x70, 0xd0])
        : r.pick([0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xb0, 0xb0, 0xc0, 0xd0]);
      const isX = r.next() < (profile === "copies" ? (op === 0xb0 ? 0.8 : 0.15) : 0.35);
      const dst = r.pick(r.next() < 0.1 ? [0, 1, 2, 3, 4, 5] : [0, 2, 3, 4, 5]), src = r.pick([0, 1, 2, 3, 4, 5]);
      const cls = alu64 ? 0x07 : 0x04;
      if (op === 0xd0) {
        ins.push(I(cls | op | (!alu64 && r.next() < 0.5 ? 8 : 0), dst, 0, 0, r.pick([16, 32, 64])));
        continue;
      }
      if (op === 0x80) {
        ins.push(I(cls | op, dst));
        continue;
      }
      let off = 0, imm = r.pick(IMMS);
      if ((op === 0x30 || op === 0x90) && r.next() < 0.2) off = 1;
      if (op === 0xb0 && isX && r.next() < 0.2) off = r.pick(alu64 ? [8, 16, 32] : [8, 16]);
      if (op === 0x60 || op === 0x70 || op === 0xc0) imm = r.int(alu64 ? 64 : 32);
      if ((op === 0x30 || op === 0x90) && !isX && imm === 0) imm = 3;
      ins.push(I(cls | op | (isX ? 8 : 0), dst, isX ? src : 0, off, isX ? 0 : imm));
    } else if (x < 0.8) {
      const jmp32 = r.next() < 0.3, isX = r.next() < 0.35;
      const op = r.pick([0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0]);
      ins.push({ ...I((jmp32 ? 0x06 : 0x05) | op | (isX ? 8 : 0), r.pick([0, 1, 2, 3, 4, 5]), isX ? r.pick([0, 1, 2, 3, 4, 5, 10]) : 0, 0, isX ? 0 : r.pick(IMMS)), jump: "cond" });
    } else if (x < 0.86) {
      ins.push({ ...I(r.next() < 0.8 ? 0x05 : 0x06), jump: "ja" });
    } else if (x < 0.88) {
      if (ins.length > 0 && ins[ins.length - 1]!.jump !== undefined) ins.push(I(0xb7, 0, 0, 0, r.int(4)), I(0x95));
    } else if (r.next() < 0.3) {
      const kind = r.next() < 0.6 ? 2 : 1;
      ins.push({ ...I(0x18, r.pick([2, 3, 4, 5]), kind), map: r.next() < 0.7 ? 0 : r.int(3) });
      ins.push(I(0, 0, 0, 0, kind === 2 ? r.pick([0, 4, 8, 60, 63, 0, 8, 64, 100]) : 0));
    } else {
      const v = BigInt.asUintN(64, BigInt(r.pick(IMMS)) << BigInt(r.pick([0, 16, 32, 48])));
      ins.push(I(0x18, r.pick([0, 2, 3, 4, 5]), 0, 0, Number(BigInt.asIntN(32, v))), I(0, 0, 0, 0, Number(BigInt.asIntN(32, v >> 32n))));
    }
  }
  if (r.next() < 0.7) ins.push(I(0xb7, 0, 0, 0, r.int(4)));
  ins.push(I(0x95));
  // Forward jumps, never into the middle of an ld_imm64; unconditional ones mostly `+0`.
  ins.forEach((x, i) => {
    if (x.jump === undefined) return;
    const room = ins.length - i - 2;
    let off = room <= 0 ? 0 : r.int(Math.min(room, 8) + 1);
    if (x.jump === "ja" && r.next() < 0.7) off = 0;
    while (off > 0 && ins[i + off]?.code === 0x18) off--;
    if (x.code === 0x06) x.imm = off;
    else x.off = off;
  });
  return ins;
}

function encode(ins: readonly Insn[], mapFds: readonly number[]): Uint8Array {
  const b = new Uint8Array(ins.length * 8);
  const v = new DataView(b.buffer);
  ins.forEach((x, i) => {
    b[i * 8] = x.code;
    b[i * 8 + 1] = (x.dst & 15) | ((x.src & 15) << 4);
    v.setInt16(i * 8 + 2, x.off, true);
    v.setInt32(i * 8 + 4, x.map === undefined ? x.imm : mapFds[x.map]!, true);
  });
  return b;
}

/** [program type, expected attach type]: plain ones and ones with an r0 range. */
const TYPES: ReadonlyArray<readonly [number, number]> = [[1, 0], [8, 0], [8, 1], [6, 0], [18, 10], [18, 8], [30, 36], [2, 56], [32, 45], [21, 0], [13, 0]];

const withKernel = describe.skipIf(kernel.unavailable !== undefined);

withKernel("the verifier: simulator vs kernel on random loop-free programs", () => {
  const drivers: Array<{ d: Driver; maps: number[] }> = [];
  const open = (d: Driver) => ({
    d,
    maps: [
      d.mapCreate({ mapType: 2, keySize: 4, valueSize: 64, maxEntries: 1 }),
      d.mapCreate({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 4 }),
      d.mapCreate({ mapType: 2, keySize: 4, valueSize: 8, maxEntries: 2 }),
    ],
  });
  afterAll(() => {
    for (const { d, maps } of drivers) for (const fd of maps) d.close(fd);
  });

  const loadResult = (d: Driver, type: number, ea: number, bytes: Uint8Array): string => {
    const fd = d.progLoad({ progType: type, insns: bytes, license: "GPL", expectedAttachType: ea });
    if (fd < 0) return `errno ${-fd}`;
    const info = new Uint8Array(232);
    d.objGetInfoByFd(fd, info);
    d.close(fd);
    const v = new DataView(info.buffer);
    return `xlated ${v.getUint32(20, true)} verified ${v.getUint32(216, true)}`;
  };

  it.each([
    ["short programs", 0, "short", 500],
    ["long programs with many branches", 1, "branchy", 500],
    ["long programs of copies and constant deltas", 2, "copies", 500],
  ] as const)("%s", (_name, seedOffset, profile, count) => {
    if (drivers.length === 0) drivers.push(open(sim()), open(kernelDriver()));
    const [s, k] = drivers as [{ d: Driver; maps: number[] }, { d: Driver; maps: number[] }];
    const r = rng(SEED + seedOffset);
    const differ: string[] = [];
    let loaded = 0;
    for (let n = 0; n < count * SOAK; n++) {
      const ins = generate(r, profile);
      const [type, ea] = r.pick(TYPES);
      const kr = loadResult(k.d, type, ea, encode(ins, k.maps));
      const sr = loadResult(s.d, type, ea, encode(ins, s.maps));
      if (kr.startsWith("xlated")) loaded++;
      if (kr !== sr && differ.length < 5) {
        const hex = Buffer.from(encode(ins, [0, 0, 0])).toString("hex").replace(/(.{16})/g, "$1 ").trim();
        differ.push(`type ${type}/${ea}: kernel ${kr}, sim ${sr}\n  ${hex}`);
      }
    }
    expect(differ, differ.join("\n")).toEqual([]);
    // The generator must keep producing programs that load, or the test checks only errors.
    expect(loaded).toBeGreaterThan(count / 20);
  });

  // Programs random seeds once found differing, kept so that the rule each exposed stays held.
  it.each([
    ["a checkpoint keeps a 32-bit delta id no other register shares", 30, 36, "xlated 240 verified 106", [
      "bf10000000000000 b702000007000000 b703000020000000 b7040000ffffff7f bc15000000000000 bc52000000000000 1700000002000000 ce12050000000000",
      "14050000ffffff7f 0500000000000000 4604020001000000 57040000ffffff7f 16010300ff000000 7402000014000000 4d30050000000000 bf42200000000000",
      "1800000000000000 0000000000000000 25040700ffffffff cd35030000000000 0700000005000000 4d52080000000000 6d21050000000000 1803000000000000",
      "000000000080ffff a60304001f000000 d702000010000000 1c35000000000000 6d24050000000000 a5020100ffffffff 0f32000000000000 bf32000000000000",
      "1403000007000000 65010100ff000000 25000000ffffffff b700000001000000 9500000000000000",
    ]],
    ["w5 -= w5 records no delta and clears the id", 13, 0, "xlated 248 verified 158", [
      "bc10000000000000 b702000010000000 b703000080000000 bc14000000000000 bf45000000000000 3500040080000000 3505070001000000 bf03080000000000",
      "b404000008000000 15000200ff000000 07020000ff000000 b502030008000000 d701000040000000 d604020000000000 0500000000000000 a501030008000000",
      "1702000020000000 bc03100000000000 1502010010000000 360005007f000000 bf22000000000000 5f50000000000000 d50100003f000000 1700000000000080",
      "1c55000000000000 360004003f000000 180400000000ffff 00000000ffffffff bf42000000000000 4d51050000000000 d704000040000000 a602080002000000",
      "1d10010000000000 17030000ffff0000 0500030000000000 1700000000000000 3604010000000000 bc43000000000000 a6050000ffffffff b700000000000000",
      "9500000000000000",
    ]],
  ] as const)("%s", (_name, type, ea, kernelAnswer, hex) => {
    if (drivers.length === 0) drivers.push(open(sim()), open(kernelDriver()));
    const bytes = Uint8Array.from(Buffer.from(hex.join("").replace(/ /g, ""), "hex"));
    expect(loadResult(drivers[1]!.d, type, ea, bytes)).toBe(kernelAnswer);
    expect(loadResult(drivers[0]!.d, type, ea, bytes)).toBe(kernelAnswer);
  });
});
