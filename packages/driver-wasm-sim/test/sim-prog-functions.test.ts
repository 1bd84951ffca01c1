// add_subprog_and_kfunc's capability rule on the simulator: a loader without CAP_BPF may load a
// socket filter (with unprivileged_bpf_disabled 0) but not one that names a BPF function, which
// the kernel refuses with EPERM ("loading/calling other bpf or kernel functions are allowed for
// CAP_BPF and CAP_SYS_ADMIN", kernel/bpf/verifier.c). Not probed: this host keeps
// unprivileged_bpf_disabled at 2, where every unprivileged load is EPERM before the verifier.
// The errors of the passes around it, with and without privilege, are the conformance group
// prog-btf's, run on both drivers.
import { expect, it } from "vitest";
import { Errno, ProgType } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";

const insn = (code: number, dst = 0, src = 0, off = 0, imm = 0) => {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  b[0] = code; b[1] = (src << 4) | dst; v.setInt16(2, off, true); v.setInt32(4, imm, true);
  return [...b];
};
const RET0 = [...insn(0xb7), ...insn(0x95)];
const load = (d: ReturnType<typeof createSimDriver>, insns: number[]) =>
  d.progLoad({ progType: ProgType.SocketFilter, insns: Uint8Array.from(insns), license: "GPL" });

it("without CAP_BPF a BPF-to-BPF call, a callback or a kfunc is EPERM, before a call's bad destination; a plain program loads", () => {
  const nobody = createSimDriver({ privileged: false, unprivilegedBpfDisabled: 0 });
  const plain = load(nobody, RET0);
  expect(plain).toBeGreaterThanOrEqual(0);
  nobody.close(plain);
  expect(load(nobody, [...insn(0x85, 0, 1, 0, 1), ...insn(0x95), ...RET0])).toBe(-Errno.EPERM);
  expect(load(nobody, [...insn(0x85, 0, 1, 0, 50), ...insn(0x95)])).toBe(-Errno.EPERM);
  expect(load(nobody, [...insn(0x18, 2, 4, 0, 3), ...insn(0), ...RET0, ...RET0])).toBe(-Errno.EPERM);
  expect(load(nobody, [...insn(0x85, 0, 2, 0, 1), ...RET0])).toBe(-Errno.EPERM);
  // With CAP_BPF the bad destination is the answer.
  expect(load(createSimDriver(), [...insn(0x85, 0, 1, 0, 50), ...insn(0x95)])).toBe(-Errno.EINVAL);
});
