// Kernel CPU lists (`0-3,5`), as in /sys/devices/system/cpu/possible: per-CPU values hold one
// slot per possible CPU (kernel-maps.md §6), so both drivers size them by this list.

/**
 * The CPU numbers in a kernel CPU list (`0-3,5`, `0`, `0-1\n`), ascending and without
 * duplicates. Throws a SyntaxError for anything else, including an empty list.
 */
export function parseCpuList(text: string): number[] {
  const body = text.trim();
  if (body === "") throw new SyntaxError("cpu list is empty");
  const cpus = new Set<number>();
  for (const part of body.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) throw new SyntaxError(`cpu list ${JSON.stringify(text)}: bad range ${JSON.stringify(part)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 1 << 20) throw new SyntaxError(`cpu list ${JSON.stringify(text)}: bad range ${JSON.stringify(part)}`);
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** How many CPUs a cpu list names: `0-3,5` is 5. */
export function countCpuList(text: string): number {
  return parseCpuList(text).length;
}
