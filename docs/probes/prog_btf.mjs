#!/usr/bin/env node
// Probe (needs root and a build: `npm run build`): PROG_LOAD with prog_btf_fd, func_info and
// line_info on this kernel, through the kernel driver. Prints one line per question: the answer
// (an fd as OK, or the errno) and the verifier log's last line, and for a load the info's btf_id
// and record counts. The answers are the conformance group prog-btf and docs/kernel-notes.md.
// Loads socket filters only; nothing is attached; every fd is closed.
const core = await import(new URL("../../packages/core/dist/index.js", import.meta.url).href);
const { createKernelDriver } = await import(new URL("../../packages/driver-kernel/dist/index.js", import.meta.url).href);

const d = createKernelDriver();
const b = new core.BtfBuilder();
const int = b.int("int", 4, core.BtfIntEncoding.SIGNED);
const proto = b.funcProto(int, []);
const main = b.func("main", proto), sub = b.func("sub", proto);
const file = b.addString("prog.c"), text = b.addString("return 0;");
const btf = d.btfLoad({ btf: b.encode() });
if (btf < 0) throw new Error(`BTF_LOAD: errno ${-btf}`);
const map = d.mapCreate({ mapType: core.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });

const insn = (code, dst, src, off, imm) => {
  const x = new Uint8Array(8), v = new DataView(x.buffer);
  x[0] = code; x[1] = (src << 4) | dst; v.setInt16(2, off, true); v.setInt32(4, imm, true);
  return [...x];
};
const EXIT = insn(0x95, 0, 0, 0, 0), RET0 = [...insn(0xb7, 0, 0, 0, 0), ...EXIT];
const TWO = [...insn(0x85, 0, 1, 0, 1), ...EXIT, ...RET0];           // call sub; exit; sub: r0 = 0; exit
const LOOP = [...insn(0xb7, 1, 0, 0, 1), ...insn(0x18, 2, 4, 0, 6), ...insn(0, 0, 0, 0, 0), // bpf_loop(1, cb, 0, 0)
  ...insn(0xb7, 3, 0, 0, 0), ...insn(0xb7, 4, 0, 0, 0), ...insn(0x85, 0, 0, 0, 181), ...RET0, ...RET0];
const records = (rows, size) => {
  const o = new Uint8Array(rows.length * size), v = new DataView(o.buffer);
  rows.forEach((r, i) => r.forEach((w, j) => { if (4 * j + 4 <= size) v.setUint32(i * size + 4 * j, w, true); }));
  return o;
};
const F = (...rows) => records(rows, 8), L = (...rows) => records(rows, 16);

const errno = (n) => Object.entries(core.Errno).find(([, v]) => v === n)?.[0] ?? String(n);

function ask(what, attr) {
  const log = new Uint8Array(1 << 16);
  const fd = d.progLoad({ progType: 1, license: "GPL", logLevel: 1, log, ...attr, insns: Uint8Array.from(attr.insns ?? RET0) });
  const lines = Buffer.from(log.subarray(0, log.indexOf(0))).toString("latin1").split("\n").filter(Boolean);
  let extra = "";
  if (fd >= 0) {
    const info = new Uint8Array(core.PROG_INFO_SIZE);
    d.objGetInfoByFd(fd, info);
    const p = core.decodeProgInfo(info);
    extra = ` btf_id=${p.btfId === 0 ? 0 : "set"} nr_func_info=${p.nrFuncInfo} nr_line_info=${p.nrLineInfo}`;
    d.close(fd);
  }
  // The verifier's last words: some lines end without a newline, so "processed …" runs on after them.
  const last = (lines.at(-1) ?? "").replace(/processed \d+ insns.*$/, "");
  const said = last !== "" || lines.length < 2 ? last : lines.at(-2);
  console.log(`${what}: ${fd >= 0 ? "OK" : errno(-fd)}${extra} | ${JSON.stringify(said)}`);
}

ask("call, no func_info", { insns: TWO });
ask("call, func_info", { insns: TWO, progBtfFd: btf, funcInfo: F([0, main], [2, sub]) });
ask("bpf_loop callback, no func_info", { insns: LOOP });
ask("bpf_loop callback, func_info", { insns: LOOP, progBtfFd: btf, funcInfo: F([0, main], [8, sub]) });
ask("no records, prog_btf_fd a map, rec sizes 3 and 5", { progBtfFd: map, funcInfoRecSize: 3, lineInfoRecSize: 5 });
ask("func_info, prog_btf_fd not open", { progBtfFd: 0x3ffffff0, funcInfo: F([0, main]) });
ask("func_info, prog_btf_fd a map", { progBtfFd: map, funcInfo: F([0, main]) });
for (const size of [4, 10, 12, 252, 256]) ask(`func rec size ${size}`, { progBtfFd: btf, funcInfo: records([[0, main]], size), funcInfoRecSize: size });
ask("func rec size 12, tail 1", { progBtfFd: btf, funcInfo: records([[0, main, 1]], 12), funcInfoRecSize: 12 });
ask("func first insn_off 1", { progBtfFd: btf, funcInfo: F([1, main]) });
ask("func type INT", { progBtfFd: btf, funcInfo: F([0, int]) });
ask("two func records, one function", { progBtfFd: btf, funcInfo: F([0, main], [1, sub]) });
for (const size of [8, 12, 20, 256]) ask(`line rec size ${size}`, { progBtfFd: btf, funcInfo: F([0, main]), lineInfo: records([[0, file, text, 1 << 10]], size), lineInfoRecSize: size });
ask("line first at 1", { progBtfFd: btf, funcInfo: F([0, main]), lineInfo: L([1, file, text, 1 << 10]) });
ask("line past the end", { progBtfFd: btf, funcInfo: F([0, main]), lineInfo: L([0, file, text, 1 << 10], [2, file, text, 1 << 10]) });
ask("line on an ld_imm64's second half", { insns: [...insn(0x18, 0, 0, 0, 0), ...insn(0, 0, 0, 0, 0), ...EXIT], progBtfFd: btf, lineInfo: L([0, file, text, 1 << 10], [1, file, text, 1 << 10]) });
ask("line string past the end", { progBtfFd: btf, funcInfo: F([0, main]), lineInfo: L([0, 9999, text, 1 << 10]) });
ask("line_info alone", { progBtfFd: btf, lineInfo: L([0, file, text, 1 << 10]) });
ask("jump out of range, func tail", { insns: [...insn(0x05, 0, 0, 5, 0), ...EXIT], progBtfFd: btf, funcInfo: records([[0, main, 1]], 12), funcInfoRecSize: 12 });
ask("map fd not open, line tail", { insns: [...insn(0x18, 1, 1, 0, 0x3ffffff0), ...insn(0, 0, 0, 0, 0), ...RET0], progBtfFd: btf, funcInfo: F([0, main]), lineInfo: records([[0, file, text, 1 << 10, 1]], 20), lineInfoRecSize: 20 });
// Programs of several functions, each after an ld_imm64 of a map fd that is not open (EBADF
// when nothing before resolve_pseudo_ldimm64 refuses it).
const NOMAP = [...insn(0x18, 1, 1, 0, 0x3ffffff0), ...insn(0, 0, 0, 0, 0)];
const withSub = (...body) => [...NOMAP, ...insn(0x85, 0, 1, 0, 1), ...EXIT, ...body.flat(), ...RET0];
const tail = insn(0x85, 0, 0, 0, 12);
ask("call, no map", { insns: withSub() });
ask("call past the end", { insns: [...NOMAP, ...insn(0x85, 0, 1, 0, 9), ...EXIT] });
ask("jump from main into sub", { insns: [...NOMAP, ...insn(0x85, 0, 1, 0, 2), ...insn(0x05, 0, 0, 1, 0), ...EXIT, ...RET0] });
ask("tail call in sub, no BTF", { insns: withSub(tail) });
ask("tail call in sub returning int", { insns: withSub(tail), progBtfFd: btf, funcInfo: F([0, main], [4, sub]) });
ask("LD_ABS in sub, no BTF", { insns: withSub(insn(0x20, 0, 0, 0, 0)) });
const many = (n) => [...Array.from({ length: n }, (_, i) => insn(0x85, 0, 1, 0, n - i + 2 * i)).flat(), ...EXIT, ...Array.from({ length: n }, () => RET0).flat()];
ask("255 functions besides main", { insns: many(255) });
ask("256 functions besides main", { insns: many(256) });
ask("a call to itself", { insns: [...insn(0x85, 0, 1, 0, -1), ...EXIT] });
d.close(map);
d.close(btf);
