// The simulator against the kernel on real-world BTF: this host's vmlinux BTF (/sys/kernel/btf/
// vmlinux, ~150k types, every kind the kernel's compiler emits) loaded as a program's BTF on both
// drivers, with the checker's whole log (~10 MB at level 1) compared byte for byte; then MAP_CREATE
// with a sample of its structs (and every one holding a special field) as values and keys, the
// errno compared. Runs where the kernel driver works and the host exposes its BTF.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BtfBuilder, BtfIntEncoding, BtfKind, parseBtf, ProgType, type Driver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { kernelUnderTest } from "../src/drivers.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const kernel = kernelUnderTest();
const skip = kernel.unavailable ?? (existsSync(VMLINUX) ? undefined : `${VMLINUX} is absent (a kernel without CONFIG_DEBUG_INFO_BTF)`);

/** The structs whose presence in a value the kernel checks (btf_parse_fields' names). */
const SPECIAL = new Set([
  "bpf_spin_lock", "bpf_res_spin_lock", "bpf_timer", "bpf_wq", "bpf_task_work", "bpf_list_head", "bpf_list_node",
  "bpf_rb_root", "bpf_rb_node", "bpf_refcount",
]);
const HASH = 1, ARRAY = 2, PERCPU_ARRAY = 6;
/** r0 = 0; exit. */
const RET0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
/** Every 40th struct or union of 1..4096 bytes: ~250 of vmlinux's, all sizes and shapes. */
const SAMPLE_EVERY = 40;

function loadWithLog(d: Driver, btf: Uint8Array): { fd: number; log: Buffer } {
  const logBuf = new Uint8Array(32 << 20);
  const fd = d.btfLoad!({ btf, logBuf, logLevel: 1 });
  return { fd, log: Buffer.from(logBuf.subarray(0, logBuf.indexOf(0))) };
}

if (skip !== undefined) {
  describe("vmlinux BTF: simulator vs kernel", () => {
    it.skip(`skipped: ${skip}`, () => {});
  });
} else {
  describe("vmlinux BTF: simulator vs kernel", () => {
    const raw = new Uint8Array(readFileSync(VMLINUX));

    it("loads on both with the same log, byte for byte, and the same MAP_CREATE answers for its structs as keys and values", () => {
      const k = kernel.create();
      const s = createSimDriver();
      const kl = loadWithLog(k, raw);
      const sl = loadWithLog(s, raw);
      try {
        expect(kl.fd, "the kernel loads its own BTF").toBeGreaterThanOrEqual(0);
        expect(sl.fd, "the simulator loads it").toBeGreaterThanOrEqual(0);
        expect(kl.log.length, "a log of every type").toBeGreaterThan(raw.length);
        if (!kl.log.equals(sl.log)) {
          let i = 0;
          while (kl.log[i] === sl.log[i]) i++;
          const around = (b: Buffer) => JSON.stringify(b.subarray(Math.max(0, i - 120), i + 80).toString("latin1"));
          expect.fail(`the logs differ at byte ${i} of ${kl.log.length} / ${sl.log.length}:\n  kernel ${around(kl.log)}\n  sim    ${around(sl.log)}`);
        }

        const btf = parseBtf(raw);
        const int = btf.findByName("int", BtfKind.INT)!;
        const picked: number[] = [];
        let composites = 0;
        btf.types.forEach((t, id) => {
          if (t.kind !== BtfKind.STRUCT && t.kind !== BtfKind.UNION) return;
          const special = SPECIAL.has(t.name) || t.members.some((m) => SPECIAL.has(btf.name(btf.resolve(m.type))));
          if (special || (t.size > 0 && t.size <= 4096 && composites++ % SAMPLE_EVERY === 0)) picked.push(id);
        });
        expect(picked.length, "structs picked").toBeGreaterThan(100);
        const differ: string[] = [];
        const attempt = (what: string, attr: Parameters<Driver["mapCreate"]>[0]) => {
          const answers = [k, s].map((d, i) => {
            const r = d.mapCreate({ ...attr, btfFd: i === 0 ? kl.fd : sl.fd });
            if (r >= 0) d.close(r);
            return r < 0 ? r : 0;
          });
          if (answers[0] !== answers[1]) differ.push(`${what}: kernel ${answers[0]}, sim ${answers[1]}`);
        };
        for (const id of picked) {
          const size = btf.sizeOf(id)!;
          const name = `${btf.name(id) || "(anon)"} [${id}], ${size} bytes`;
          attempt(`ARRAY of ${name}`, { mapType: ARRAY, keySize: 4, valueSize: size, maxEntries: 1, btfKeyTypeId: int, btfValueTypeId: id });
          attempt(`PERCPU_ARRAY of ${name}`, { mapType: PERCPU_ARRAY, keySize: 4, valueSize: size, maxEntries: 1, btfKeyTypeId: int, btfValueTypeId: id });
          attempt(`HASH keyed by ${name}`, { mapType: HASH, keySize: size, valueSize: 4, maxEntries: 1, btfKeyTypeId: id, btfValueTypeId: int });
          // And sized one byte off: the type's size must be the value's (EINVAL).
          attempt(`ARRAY of ${name}, value_size + 1`, { mapType: ARRAY, keySize: 4, valueSize: size + 1, maxEntries: 1, btfKeyTypeId: int, btfValueTypeId: id });
        }
        expect(differ, `of ${picked.length * 4} creates`).toEqual([]);
      } finally {
        if (kl.fd >= 0) k.close(kl.fd);
        if (sl.fd >= 0) s.close(sl.fd);
      }
    });

    it("a simulator given it as kernelBtf answers a kptr to each of its struct names as the kernel does (ENOENT without a destructor)", () => {
      const k = kernel.create();
      const s = createSimDriver({ kernelBtf: raw });
      const btf = parseBtf(raw);
      // Every struct name (and a union's, an anonymous struct, one vmlinux lacks), as a referenced
      // and as an untrusted kptr's target; and an array of referenced kptrs, which MAP_CREATE parses.
      const names = new Set(["", "not_in_vmlinux"]);
      btf.types.forEach((t) => {
        if (t.kind === BtfKind.STRUCT || t.kind === BtfKind.UNION) names.add(t.name);
      });
      const differ: string[] = [];
      let enoent = 0;
      for (const name of names) {
        for (const [tag, nelems] of [["kptr", 0], ["kptr_untrusted", 0], ["kptr", 2]] as const) {
          const b = new BtfBuilder();
          const int = b.int("int", 4, BtfIntEncoding.SIGNED);
          const target = b.struct(name, 4, [{ name: "x", type: int, bitOffset: 0 }]);
          const ptr = b.ptr(b.typeTag(tag, target));
          const member = nelems === 0 ? ptr : b.array(ptr, int, nelems);
          const value = b.struct("val", 8 * Math.max(nelems, 1), [{ name: "p", type: member, bitOffset: 0 }]);
          const blob = b.encode();
          const [a, c] = [k, s].map((d) => {
            const fd = d.btfLoad!({ btf: blob });
            if (fd < 0) return `load ${fd}`;
            const m = d.mapCreate({ mapType: HASH, keySize: 4, valueSize: 8 * Math.max(nelems, 1), maxEntries: 1, btfFd: fd, btfKeyTypeId: int, btfValueTypeId: value });
            if (m >= 0) d.close(m);
            d.close(fd);
            return `map ${m < 0 ? m : "OK"}`;
          });
          if (a === "load -2") enoent++;
          if (a !== c) differ.push(`${tag}${nelems > 0 ? `[${nelems}]` : ""} to ${JSON.stringify(name)}: kernel ${a}, sim ${c}`);
        }
      }
      expect(differ.slice(0, 10), `${differ.length} of ${names.size * 3} differ`).toEqual([]);
      // Most of vmlinux's structs have no destructor: the case is not vacuous.
      expect(enoent).toBeGreaterThan(1000);
    });

    it("a simulator given it as kernelBtf holds it as the kernel does: BTF id 1, \"vmlinux\", read back whole, never freed, and nothing made with it (EACCES)", () => {
      const k = kernel.create();
      const s = createSimDriver({ kernelBtf: raw });
      const answers = [k, s].map((d) => {
        const fd = d.btfGetFdById!(1);
        if (fd < 0) return { fd };
        try {
          const data = new Uint8Array(raw.length + 8).fill(0xee);
          const info = d.btfGetInfo!(fd, data);
          const generic = new Uint8Array(32);
          const wrote = d.objGetInfoByFd(fd, generic);
          // A func_info record naming type 1: the kernel refuses its BTF before reading it.
          const funcInfo = new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0]);
          const prog = d.progLoad({ progType: ProgType.SocketFilter, insns: RET0, license: "GPL", progBtfFd: fd, funcInfo });
          if (prog >= 0) d.close(prog);
          const map = d.mapCreate({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1, btfFd: fd, btfKeyTypeId: 1, btfValueTypeId: 1 });
          if (map >= 0) d.close(map);
          return {
            info, whole: Buffer.from(data.subarray(0, raw.length)).equals(raw), past: data.subarray(raw.length).every((b) => b === 0xee),
            generic: [wrote, Buffer.from(generic.subarray(8)).toString("hex")], prog: prog < 0 ? prog : "OK", map: map < 0 ? map : "OK",
          };
        } finally {
          d.close(fd);
        }
      });
      expect(answers[0]).toMatchObject({ info: { id: 1, name: "vmlinux", kernelBtf: true, btfSize: raw.length }, whole: true, past: true });
      expect(answers[1]).toEqual(answers[0]);
      // Closing every fd leaves it: the kernel holds it.
      expect([k, s].map((d) => d.btfGetNextId!(0))).toEqual([1, 1]);
      // BTF the simulator loads takes the next id.
      const mine = new BtfBuilder();
      mine.int("int", 4, BtfIntEncoding.SIGNED);
      const fd = s.btfLoad!({ btf: mine.encode() });
      expect(s.btfGetInfo!(fd, null)).toMatchObject({ id: 2, name: "", kernelBtf: false });
      s.close(fd);
    });
  });
}
