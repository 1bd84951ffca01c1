#!/usr/bin/env python3
"""Records LRU traces from the running kernel for the engine tests (test/engine-lru.test.ts).

Random update (ANY/NOEXIST/EXIST), delete, lookup, lookup-and-delete and *datapath lookup*
sequences on ZERO_SEED LRU_HASH and LRU_PERCPU_HASH maps, common and NO_COMMON_LRU, with the
process pinned to CPU 0 (kernel-maps.md §7.4: a pinned process is deterministic). A datapath
lookup is a socket filter that calls bpf_map_lookup_elem on the key in skb->mark, run once with
BPF_PROG_TEST_RUN on this CPU: it sets the element's reference bit as a BPF program does. Per op it records the errno and the
element count; every 8 ops (40 in the long traces) and at the end, the full GET_NEXT_KEY walk.
Run as root:  python3 record-lru-traces.py /work/shared/spec/kernel-probes > ../test/fixtures/lru-kernel-traces.json
"""
import json, os, random, struct, sys
sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else '/work/shared/spec/kernel-probes')
from bpfsys import *

NC = ncpus_possible()
PROG_TEST_RUN = 10

def insn(op, dst=0, src=0, off=0, imm=0):
    return struct.pack('<BBhi', op, (src << 4) | dst, off, imm)

def lookup_prog(map_fd):
    """r2 = skb->mark; *(u32 *)(fp - 4) = r2; bpf_map_lookup_elem(map, fp - 4); return 0"""
    return prog_load_socket_filter(b'lru_mark', b''.join([
        insn(0x61, 2, 1, 8), insn(0x63, 10, 2, -4),
        insn(0x18, 1, 1, 0, map_fd), insn(0),          # ld_imm64 r1, BPF_PSEUDO_MAP_FD
        insn(0xbf, 2, 10), insn(0x07, 2, 0, 0, -4), insn(0x85, 0, 0, 0, 1),
        insn(0xb7, 0, 0, 0, 0), insn(0x95)]))

def datapath_lookup(prog, key):
    b = Buf(); a = bytearray(ATTR_SIZE)
    data = b'\0' * 64
    ctx = struct.pack('<III', 0, 0, key)              # struct __sk_buff up to mark
    struct.pack_into('<IIIIQQIIIIQ', a, 0, prog, 0, len(data), 0, b.ptr(data), 0, 1, 0, len(ctx), 0, b.ptr(ctx))
    bpf(PROG_TEST_RUN, a)
os.sched_setaffinity(0, {0})
rng = random.Random(20261127)
traces = []
# 28 short traces over small maps, 8 long ones whose refill batches (target_free) are large, and
# 12 whose updates each run on a random CPU (one op at a time, so still deterministic): those
# exercise the per-CPU local free and pending lists, and stealing between them.
for t in range(48):
    long = 28 <= t < 36
    multi = t >= 36
    mtype = LRU_HASH if t % 2 == 0 else LRU_PERCPU_HASH
    flags = F_ZERO_SEED | (F_NO_COMMON_LRU if t % 4 >= 2 else 0)
    M = rng.choice([64, 100, 128, 200] if long else [1, 1, 2, 3, 5, 8, 16, 33] if multi else [1, 2, 3, 5, 8, 13, 16, 33, 64, 100])
    keyspace = max(2, int(M * rng.choice([1.2, 2, 4])))
    nops = 600 if long else 160
    every = 40 if long else 8
    vlen = 8 * NC if mtype == LRU_PERCPU_HASH else 4
    fd = map_create(mtype, 4, 4, M, flags)
    prog = lookup_prog(fd)
    ops = []
    for i in range(nops):
        r = rng.random()
        k = rng.randrange(keyspace)
        if r < 0.6:
            fl = rng.choice([ANY, ANY, NOEXIST, EXIST])
            cpu = rng.randrange(NC) if multi else 0
            op = ['upd', k, fl] + ([cpu] if multi else [])
            os.sched_setaffinity(0, {cpu})
            res = try_(update, fd, u32(k), u32(i).ljust(vlen, b'\0'), fl)
            os.sched_setaffinity(0, {0})
        elif r < 0.7:
            op = ['del', k]
            res = try_(delete, fd, u32(k))
        elif r < 0.78:
            op = ['get', k]
            res = try_(lookup, fd, u32(k), vlen)
        elif r < 0.92:
            op = ['dpget', k]
            res = try_(datapath_lookup, prog, k)
        else:
            op = ['lad', k]
            res = try_(lookup_and_delete, fd, u32(k), vlen)
        err = 0 if isinstance(res, tuple) else (res if isinstance(res, int) else getattr(E, res))
        walk = [uu32(x) for x in keys(fd, 4)]
        rec = {'op': op, 'err': err, 'count': len(walk)}
        if i % every == every - 1 or i == nops - 1:
            rec['walk'] = walk
        ops.append(rec)
    os.close(prog)
    os.close(fd)
    traces.append({'type': mtype, 'flags': flags, 'maxEntries': M, 'ncpus': NC, 'ops': ops})
json.dump({'kernel': os.uname().release, 'traces': traces}, sys.stdout, separators=(',', ':'))
