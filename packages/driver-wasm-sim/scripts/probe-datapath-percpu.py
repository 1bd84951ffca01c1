#!/usr/bin/env python3
"""What a BPF program's bpf_map_update_elem does to per-CPU hash values (the engine's datapathUpdate).

A socket filter updates key skb->mark with value skb->priority; BPF_PROG_TEST_RUN runs it on the
CPU the process is pinned to (CPU 1 here). Pins the expectations of test/engine-hash.test.ts.
Run as root:  python3 probe-datapath-percpu.py [/path/to/kernel-probes]
"""
import os, struct, sys
sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else '/work/shared/spec/kernel-probes')
from bpfsys import *

PROG_TEST_RUN = 10
NC = ncpus_possible()

def insn(op, dst=0, src=0, off=0, imm=0):
    return struct.pack('<BBhi', op, (src << 4) | dst, off, imm)

def update_prog(map_fd, flags):
    return prog_load_socket_filter(b'pcpu_upd', b''.join([
        insn(0x61, 2, 1, 8), insn(0x63, 10, 2, -4),      # key = skb->mark at fp-4
        insn(0x61, 3, 1, 32), insn(0x63, 10, 3, -8),     # value = skb->priority at fp-8
        insn(0x18, 1, 1, 0, map_fd), insn(0),            # r1 = map (BPF_PSEUDO_MAP_FD)
        insn(0xbf, 2, 10), insn(0x07, 2, 0, 0, -4),
        insn(0xbf, 3, 10), insn(0x07, 3, 0, 0, -8),
        insn(0xb7, 4, 0, 0, flags),
        insn(0x85, 0, 0, 0, 2),                          # call bpf_map_update_elem
        insn(0x95)]))                                    # return its result

def run(prog, key, value):
    b = Buf(); a = bytearray(ATTR_SIZE)
    data = b'\0' * 64
    ctx = struct.pack('<9I', 0, 0, key, 0, 0, 0, 0, 0, value)   # struct __sk_buff up to priority
    struct.pack_into('<IIIIQQIIIIQ', a, 0, prog, 0, len(data), 0, b.ptr(data), 0, 1, 0, len(ctx), 0, b.ptr(ctx))
    bpf(PROG_TEST_RUN, a)
    return struct.unpack_from('<i', a, 4)[0]

for t, name in ((PERCPU_HASH, 'PERCPU_HASH'), (LRU_PERCPU_HASH, 'LRU_PERCPU_HASH')):
    fd = map_create(t, 4, 4, 4, F_ZERO_SEED)
    prog = update_prog(fd, ANY)
    update(fd, u32(1), b'\xee' * 8 * NC)
    os.sched_setaffinity(0, {1})
    r_new, r_old = run(prog, 2, 7), run(prog, 1, 5)
    os.sched_setaffinity(0, {0})
    print('%-16s new key 2 from CPU 1 (ret %d): %s   existing key 1 (ret %d): %s' % (
        name, r_new, lookup(fd, u32(2), 8 * NC).hex(), r_old, lookup(fd, u32(1), 8 * NC).hex()))
    os.close(prog); os.close(fd)
