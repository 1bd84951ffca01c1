// /proc/self/mountinfo, as proc(5) lays it out:
//   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
// Paths escape space, tab, newline and backslash as octal (`\040`).
import type { MountInfo } from "@bpfkit/core";

/** Undoes the kernel's octal escapes (`\040` → space) in a mountinfo field. */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses mountinfo text; lines that do not have the proc(5) shape are skipped. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const f = line.split(" ");
    // Optional fields (shared:N, master:N, …) run until a lone "-".
    const dash = f.indexOf("-", 6);
    if (f.length < 7 || dash < 0 || dash + 2 >= f.length) continue;
    const mountId = Number(f[0]);
    const parentId = Number(f[1]);
    if (!Number.isInteger(mountId) || !Number.isInteger(parentId)) continue;
    out.push({
      mountId,
      parentId,
      root: unescapeMountField(f[3]!),
      mountPoint: unescapeMountField(f[4]!),
      fsType: unescapeMountField(f[dash + 1]!),
      source: unescapeMountField(f[dash + 2]!),
    });
  }
  return out;
}
