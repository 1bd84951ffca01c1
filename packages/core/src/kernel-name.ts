// A map's kernel name (bpf_attr.map_name), which bpftool and `bpfkit maps` list. It is opt-in:
// the seed names no map. The kernel's bpf_obj_name_cpy takes at most BPF_OBJ_NAME_LEN - 1 bytes
// of [A-Za-z0-9_.] and answers anything else with a bare EINVAL, so it is checked here first.
import { describeValue } from "./describe-value.js";

/** The longest kernel name: BPF_OBJ_NAME_LEN (16) less the NUL the field must hold. */
const BPF_OBJ_NAME_MAX = 15;

/** The rule, as the errors state it. */
const RULE = `at most ${BPF_OBJ_NAME_MAX} bytes of A-Z a-z 0-9 _ .`;

/** Why `name` cannot be a map's kernel name, or undefined when the kernel takes it ("" included: no name). */
export function kernelNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return `must be a string, got ${describeValue(name)}`;
  const bad = /[^A-Za-z0-9_.]/.exec(name);
  if (bad !== null) {
    const c = bad[0] === "\0" ? "a NUL byte" : JSON.stringify(String.fromCodePoint(name.codePointAt(bad.index)!));
    return `holds ${c}; a kernel map name is ${RULE}`;
  }
  // Only ASCII is left, so characters are bytes.
  if (name.length > BPF_OBJ_NAME_MAX) return `is ${name.length} bytes; a kernel map name is ${RULE}`;
  return undefined;
}

/**
 * Throws, naming `where` and the name, unless the kernel takes `name` as a map name: a TypeError
 * for what is no string or holds a character outside the rule, a RangeError for one too long.
 */
export function assertKernelName(name: unknown, where: string): asserts name is string {
  const why = kernelNameProblem(name);
  if (why === undefined) return;
  const shown = typeof name === "string" ? ` ${JSON.stringify(name)}` : "";
  const Ctor = typeof name === "string" && !/[^A-Za-z0-9_.]/.test(name) ? RangeError : TypeError;
  throw new Ctor(`${where}: kernelName${shown} ${why}`);
}
