// The simulator's filesystem against the kernel's where a path is not a plain walk: where mounts
// are after a rename moved the directories around them, and names that are not valid UTF-16.
// Each scenario runs on the simulator and on the kernel (in a private bpffs, a directory and a
// tmpfs of its own); the transcripts must be equal, and the simulator's holds the kernel's answers.
import { BPF_FS_MAGIC, BPF_MAP_TYPE_HASH, RENAME_EXCHANGE, RENAME_NOREPLACE, type Driver } from "@bpfkit/core";
import { unmountBelow } from "@bpfkit/testkit";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { check, errName, onBoth, type Scene } from "./sim-helpers.js";

/** Runs `fn` in a tmpfs mounted on the scene's plain directory; everything below comes off after. */
function inTmpfs(s: Scene, fn: (t: string) => void): void {
  const h = s.d.host;
  const t = `${s.plainDir}/t`;
  s.rec("mkdir t", h.mkdir(t, 0o755));
  s.rec("mount tmpfs on t", h.mount("tmpfs", t, "tmpfs"));
  try {
    fn(t);
  } finally {
    s.log.push(["mounts left after unmounting", unmountBelow(s.d, s.plainDir).length]);
  }
}

/** The mount points below `dir`, relative to it, sorted. */
function pointsBelow(d: Driver, dir: string): string[] {
  const mounts = d.host.mountInfo();
  if (typeof mounts === "number") return [errName(mounts)];
  return mounts.map((m) => m.mountPoint).filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length)).sort();
}

describe("mounts below a renamed directory", () => {
  it("move with it, hidden or stacked or nested; a mount hidden below a directory of the same name does not", () => {
    check(onBoth((s) => inTmpfs(s, (t) => {
      const h = s.d.host;
      const points = (label: string) => s.log.push([label, pointsBelow(s.d, t)]);
      // A bpffs on h/a/x, then a tmpfs over h, in which a new h/a is made and renamed: the
      // mount on the old h/a/x is not below it.
      h.mkdirAll(`${t}/h/a/x`, 0o755);
      s.rec("mount bpffs on h/a/x", h.mount("bpf", `${t}/h/a/x`, "bpf"));
      s.rec("mount tmpfs over h", h.mount("tmpfs", `${t}/h`, "tmpfs"));
      s.rec("mkdir h/a in it", h.mkdir(`${t}/h/a`, 0o755));
      s.rec("rename h/a to h/b", h.rename!(`${t}/h/a`, `${t}/h/b`, 0));
      points("after renaming the new h/a");
      s.rec("umount h", h.umount(`${t}/h`));
      s.log.push(["h/a/x is the bpffs again", h.statfsType(`${t}/h/a/x`) === BPF_FS_MAGIC]);
      // Renaming a directory above both moves the hiding mount and the hidden one.
      h.mkdirAll(`${t}/p/h/a/x`, 0o755);
      s.rec("mount bpffs on p/h/a/x", h.mount("bpf", `${t}/p/h/a/x`, "bpf"));
      s.rec("mount tmpfs over p/h", h.mount("tmpfs", `${t}/p/h`, "tmpfs"));
      s.rec("rename p to q", h.rename!(`${t}/p`, `${t}/q`, 0));
      points("after renaming p");
      s.rec("umount q/h", h.umount(`${t}/q/h`));
      s.log.push(["q/h/a/x is the bpffs", h.statfsType(`${t}/q/h/a/x`) === BPF_FS_MAGIC]);
      // Two mounts stacked on one directory, and a mount inside a mounted bpffs.
      h.mkdirAll(`${t}/n/m`, 0o755);
      s.rec("mount bpffs on n/m", h.mount("bpf", `${t}/n/m`, "bpf"));
      s.rec("mount bpffs on n/m again", h.mount("bpf", `${t}/n/m`, "bpf"));
      s.rec("mkdir n/m/d in the top one", h.mkdir(`${t}/n/m/d`, 0o700));
      s.rec("mount bpffs on n/m/d", h.mount("bpf", `${t}/n/m/d`, "bpf"));
      s.rec("rename n to n2", h.rename!(`${t}/n`, `${t}/n2`, 0));
      points("after renaming n");
      // An exchange moves each side's mounts to the other's name.
      h.mkdirAll(`${t}/e1/x`, 0o755);
      h.mkdirAll(`${t}/e2/y`, 0o755);
      s.rec("mount bpffs on e1/x", h.mount("bpf", `${t}/e1/x`, "bpf"));
      s.rec("mount bpffs on e2/y", h.mount("bpf", `${t}/e2/y`, "bpf"));
      s.rec("exchange e1 and e2", h.rename!(`${t}/e1`, `${t}/e2`, RENAME_EXCHANGE));
      points("after the exchange");
    })), [
      ["rename h/a to h/b", 0],
      ["after renaming the new h/a", ["/h", "/h/a/x"]],
      ["h/a/x is the bpffs again", true],
      ["after renaming p", ["/h/a/x", "/q/h", "/q/h/a/x"]],
      ["q/h/a/x is the bpffs", true],
      ["after renaming n", ["/h/a/x", "/n2/m", "/n2/m", "/n2/m/d", "/q/h/a/x"]],
      ["after the exchange", ["/e1/y", "/e2/x", "/h/a/x", "/n2/m", "/n2/m", "/n2/m/d", "/q/h/a/x"]],
      ["mounts left after unmounting", 0],
    ]);
  });
});

describe("names that are not valid UTF-16", () => {
  it("a lone surrogate is the name U+FFFD, as the kernel stores it, in every operation", () => {
    check(onBoth((s) => {
      const d = s.d;
      const h = d.host;
      const f = (name: string) => `${s.bpffs}/${name}`;
      const ls = (label: string, dir: string) => {
        const names = h.readdir(dir);
        s.log.push([label, typeof names === "number" ? errName(names) : [...names].sort()]);
      };
      const fd = s.keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 1 }));
      s.rec("pin \\uD800", d.objPin(fd, f("\uD800")));
      ls("readdir after the pin", s.bpffs);
      s.log.push(["stat \\uFFFD", h.stat(f("\uFFFD"))]);
      s.keep(s.rec("get \\uFFFD", d.objGet(f("\uFFFD")), "fd"));
      s.keep(s.rec("get \\uDFFF", d.objGet(f("\uDFFF")), "fd"));
      s.rec("pin \\uFFFD", d.objPin(fd, f("\uFFFD")));
      s.rec("rename \\uD800 to \\uFFFD NOREPLACE", h.rename!(f("\uD800"), f("\uFFFD"), RENAME_NOREPLACE));
      s.rec("rename \\uD800 to \\uFFFD", h.rename!(f("\uD800"), f("\uFFFD"), 0));
      s.rec("rename \\uFFFD to x\\uDBFF", h.rename!(f("\uFFFD"), f("x\uDBFF"), 0));
      ls("readdir after the renames", s.bpffs);
      s.rec("mkdir d\\uDC00", h.mkdir(f("d\uDC00"), 0o700));
      s.rec("mkdir d\\uFFFD", h.mkdir(f("d\uFFFD"), 0o700));
      s.rec("pin d\\uD800/p", d.objPin(fd, f("d\uD800/p")));
      ls("readdir d\\uFFFD", f("d\uFFFD"));
      s.rec("rmdir d\\uDBFF", h.rmdir(f("d\uDBFF")));
      s.rec("unlink d\\uFFFD/p", h.unlink(f("d\uFFFD/p")));
      s.rec("rmdir d\\uDBFF again", h.rmdir(f("d\uDBFF")));
      s.rec("unlink x\\uD800", h.unlink(f("x\uD800")));
      // A surrogate pair is a character of its own; a lone surrogate is 3 bytes against NAME_MAX.
      s.rec("pin \\uD83D\\uDE00", d.objPin(fd, f("\uD83D\uDE00")));
      s.rec("pin \\uD800 × 85 (255 bytes)", d.objPin(fd, f("\uD800".repeat(85))));
      s.rec("pin \\uD800 × 86 (258 bytes)", d.objPin(fd, f("\uD800".repeat(86))));
      ls("readdir at the end", s.bpffs);
      // A mount point named with a lone surrogate is listed as the kernel's path prints it.
      const m = `${s.plainDir}/m\uD800`;
      s.rec("mkdir m\\uD800", h.mkdir(m, 0o700));
      s.rec("mount bpffs on m\\uDFFF", h.mount("bpf", `${s.plainDir}/m\uDFFF`, "bpf"));
      s.log.push(["mount points", pointsBelow(d, s.plainDir)]);
      s.log.push(["statfs m\\uFFFD is bpffs", h.statfsType(`${s.plainDir}/m\uFFFD`) === BPF_FS_MAGIC]);
      s.rec("umount m\\uFFFD", h.umount(`${s.plainDir}/m\uFFFD`));
      s.rec("rmdir m\\uDBFF", h.rmdir(`${s.plainDir}/m\uDBFF`));
    }), [
      ["pin \\uD800", 0],
      ["readdir after the pin", ["maps.debug", "progs.debug", "\uFFFD"]],
      ["stat \\uFFFD", { errno: 0, isDirectory: false, isFile: true }],
      ["get \\uFFFD", "fd"],
      ["pin \\uFFFD", "EEXIST"],
      ["rename \\uD800 to \\uFFFD NOREPLACE", "EEXIST"],
      ["rename \\uD800 to \\uFFFD", 0],
      ["readdir after the renames", ["maps.debug", "progs.debug", "x\uFFFD"]],
      ["mkdir d\\uFFFD", "EEXIST"],
      ["readdir d\\uFFFD", ["p"]],
      ["rmdir d\\uDBFF", "ENOTEMPTY"],
      ["rmdir d\\uDBFF again", 0],
      ["pin \\uD800 × 86 (258 bytes)", "ENAMETOOLONG"],
      ["readdir at the end", ["maps.debug", "progs.debug", "\uD83D\uDE00", "\uFFFD".repeat(85)]],
      ["mount points", ["/m\uFFFD"]],
      ["umount m\\uFFFD", 0],
    ]);
  });
});

describe("mount flags", () => {
  it("are a non-negative safe integer, as the kernel driver wants: past 2^53 a number is no longer the flags written", () => {
    const h = createSimDriver().host;
    for (const bad of [2 ** 64, 2 ** 53, -1, 0.5]) {
      expect(() => h.mount("bpf", "/sys/fs/bpf", "bpf", bad)).toThrow(/flags must be a non-negative safe integer/);
    }
  });
});
