// PROG_ATTACH's checks before anything is attached (6.18 bpf_prog_attach): the attach flags
// each program type takes, the program's type and expected attach type, then the target. No
// row can attach anything: targets are stdin, a closed fd or a hash map, and ifindex 0.
import { Checks, HASH } from "./common.js";
import type { Expect } from "../assert.js";
import type { ConformanceCase } from "../types.js";
import { load, ret } from "./programs.js";

const SOCKET_FILTER = 1, SCHED_CLS = 3, CGROUP_SKB = 8, CGROUP_SOCK = 9, SK_SKB = 14, SK_MSG = 16,
  CGROUP_SOCK_ADDR = 18;
/** enum bpf_attach_type */
const INGRESS = 0, EGRESS = 1, SOCK_CREATE = 2, STREAM_PARSER = 4, STREAM_VERDICT = 5, MSG_VERDICT = 7,
  INET4_CONNECT = 10, SK_SKB_VERDICT = 38, TCX_INGRESS = 46, TCX_EGRESS = 47, NETKIT_PRIMARY = 54,
  NETKIT_PEER = 55;
const F_ALLOW_MULTI = 0x2, F_REPLACE = 0x4, F_BEFORE = 0x8, F_AFTER = 0x10, F_ID = 0x20,
  F_PREORDER = 0x40, F_LINK = 0x2000;

export const progAttachCases: ConformanceCase[] = [
  {
    name: "prog attach: cgroup types take the base and the multi-prog flags, tcx only the multi-prog ones (BPF_F_LINK is 1 << 13)",
    group: "prog-attach",
    run(ctx) {
      const d = ctx.driver;
      const skb = load(ctx, CGROUP_SKB, ret(1));
      const cls = load(ctx, SCHED_CLS, ret(0));
      const c = new Checks("attach flags");
      // A cgroup attach passes the flag check and then finds stdin is not a cgroup (EBADF).
      for (const [flags, want] of [
        [0, "EBADF"], [F_ALLOW_MULTI, "EBADF"], [F_BEFORE, "EBADF"], [F_AFTER, "EBADF"], [F_ID, "EBADF"],
        [F_PREORDER, "EBADF"], [F_LINK, "EBADF"], [0x80, "EINVAL"], [0x4000, "EINVAL"],
      ] as const) {
        c.result(d.progAttach(0, skb, INGRESS, flags), want, `cgroup_skb ingress on stdin, flags ${flags.toString(16)}`);
      }
      // tcx looks the device up by ifindex (0: none, ENODEV) after the flags.
      for (const [flags, want] of [
        [0, "ENODEV"], [F_REPLACE, "ENODEV"], [F_BEFORE, "ENODEV"], [F_ID, "ENODEV"], [F_LINK, "ENODEV"],
        [F_ALLOW_MULTI, "EINVAL"], [F_PREORDER, "EINVAL"], [0x4000, "EINVAL"],
      ] as const) {
        c.result(d.progAttach(0, cls, TCX_INGRESS, flags), want, `tcx ingress ifindex 0, flags ${flags.toString(16)}`);
        c.result(d.progAttach(0, cls, TCX_EGRESS, flags), want, `tcx egress ifindex 0, flags ${flags.toString(16)}`);
      }
      // The flags are judged before the program fd is looked up.
      c.result(d.progAttach(0, ctx.closedFd(), INGRESS, 0x80), "EINVAL", "cgroup_skb ingress with a closed program fd, flags 80");
      // BPF_LSM_CGROUP (43) is an attach type the kernel knows (LSM): the program fd is looked up.
      c.result(d.progAttach(0, ctx.closedFd(), 43, 0), "EBADF", "lsm_cgroup with a closed program fd");
      // This kernel is built without CONFIG_NETKIT: its attach stub refuses everything.
      c.result(d.progAttach(0, cls, NETKIT_PRIMARY, 0), "EINVAL", "netkit primary ifindex 0");
      c.result(d.progAttach(0, cls, NETKIT_PEER, F_BEFORE), "EINVAL", "netkit peer ifindex 0, BPF_F_BEFORE");
      c.done();
    },
  },
  {
    name: "prog attach: a cgroup_skb program's expected attach type binds only when the verifier enforced it (egress returning 2 or 3)",
    group: "prog-attach",
    run(ctx) {
      const d = ctx.driver;
      const c = new Checks("enforce_expected_attach_type");
      const rows: ReadonlyArray<readonly [string, number, number, number, Expect]> = [
        ["ingress program (r0 = 1) at egress", INGRESS, 1, EGRESS, "EBADF"],
        ["egress program returning 0 at ingress", EGRESS, 0, INGRESS, "EBADF"],
        ["egress program returning 1 at ingress", EGRESS, 1, INGRESS, "EBADF"],
        ["egress program returning 2 at ingress", EGRESS, 2, INGRESS, "EINVAL"],
        ["egress program returning 3 at ingress", EGRESS, 3, INGRESS, "EINVAL"],
        ["egress program returning 3 at egress", EGRESS, 3, EGRESS, "EBADF"],
      ];
      for (const [what, ea, r0, at, want] of rows) {
        const p = load(ctx, CGROUP_SKB, ret(r0), ea);
        if (c.result(p, "OK", `load: ${what}`)) c.result(d.progAttach(0, p, at, 0), want, what);
      }
      // The other cgroup types always bind theirs.
      const sock = load(ctx, CGROUP_SOCK, ret(1), SOCK_CREATE);
      c.result(d.progAttach(0, sock, SOCK_CREATE, 0), "EBADF", "cgroup_sock at its own attach type");
      c.result(d.progAttach(0, sock, 13, 0), "EINVAL", "cgroup_sock sock_create program at inet6_post_bind");
      const addr = load(ctx, CGROUP_SOCK_ADDR, ret(1), INET4_CONNECT);
      c.result(d.progAttach(0, addr, 11, 0), "EINVAL", "sock_addr connect4 program at connect6");
      c.done();
    },
  },
  {
    name: "prog attach: sk_skb and sk_msg check the flags, then the target fd, then want a sockmap (EOPNOTSUPP for another map)",
    group: "prog-attach",
    run(ctx) {
      const d = ctx.driver;
      const skSkb = load(ctx, SK_SKB, ret(0));
      const skMsg = load(ctx, SK_MSG, ret(0));
      const hash = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      const closed = ctx.closedFd();
      const c = new Checks("sock_map_get_from_fd");
      for (const [p, at] of [[skSkb, STREAM_PARSER], [skSkb, STREAM_VERDICT], [skSkb, SK_SKB_VERDICT], [skMsg, MSG_VERDICT]] as const) {
        c.result(d.progAttach(hash, p, at, 0), "EOPNOTSUPP", `attach type ${at} on a hash map`);
        c.result(d.progAttach(0, p, at, 0), "EINVAL", `attach type ${at} on stdin (not a map)`);
        c.result(d.progAttach(closed, p, at, 0), "EBADF", `attach type ${at} on a closed fd`);
        for (const flags of [1, 2, 4]) c.result(d.progAttach(closed, p, at, flags), "EINVAL", `attach type ${at} on a closed fd, flags ${flags}`);
        c.result(d.progAttach(hash, p, at, F_PREORDER), "EINVAL", `attach type ${at} on a hash map, BPF_F_PREORDER`);
        c.result(d.progAttach(hash, p, at, F_BEFORE), "EINVAL", `attach type ${at} on a hash map, BPF_F_BEFORE (not a cgroup type)`);
      }
      c.result(d.progAttach(hash, load(ctx, SOCKET_FILTER, ret(0)), SK_SKB_VERDICT, 0), "EINVAL", "a socket filter at sk_skb_verdict");
      c.done();
    },
  },
];
