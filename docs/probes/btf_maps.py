#!/usr/bin/env python3
"""MAP_CREATE with BTF on this kernel: which errno each key/value type and map type gets, what
BPF_F_LOCK lookups and updates do on a value with a bpf_spin_lock, loads refused for their
special fields, map-in-map templates with BTF. Prints one line per question; the answers are
the conformance cases in btf-checks.ts (group btf). Run as root; it closes what it opens at exit."""
import ctypes, os, struct, sys
sys.path.insert(0, '/work/shared/spec/kernel-probes')  # bpfsys.py, the project's bpf(2) wrapper
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfsys as B
from btf_load import load as _load

libc = B.libc
def btf_fd(data):
    buf = ctypes.create_string_buffer(bytes(data), len(data))
    attr = bytearray(168); struct.pack_into('<QQI', attr, 0, ctypes.addressof(buf), 0, len(data))
    return B.bpf(18, attr)

def blob(words, strs):
    t = b''.join(struct.pack('<I', w & 0xffffffff) for w in words)
    h = struct.pack('<HBBIIIII', 0xeb9f, 1, 0, 24, 0, len(t), len(t), len(strs))
    return h + t + strs

def info(k, v=0, kf=0): return ((1 << 31) if kf else 0) | (k << 24) | v
S = b'\0int\0bpf_spin_lock\0val\0lock\0x\0k\0.data\0v\0bpf_timer\0t\0'
def off(n): return S.index(n.encode() + b'\0')
TYPES = [
  off('int'), info(1), 4, (1 << 24) | 32,                                  # 1 int
  off('bpf_spin_lock'), info(4, 1), 4, off('val'), 1, 0,                  # 2 struct bpf_spin_lock
  off('val'), info(4, 2), 8, off('lock'), 2, 0, off('x'), 1, 32,          # 3 struct val {lock; x}
  off('k'), info(4, 1), 8, off('x'), 5, 0,                                # 4 struct k { long x }
  off('x'), info(1), 8, 64,                                               # 5 long (unsigned)
  off('val'), info(4, 1), 12, off('x'), 1, 64,                             # 6 struct val of 12 bytes
  off('val'), info(4, 2), 8, off('x'), 1, 0, off('lock'), 1, 32,          # 7 struct val { int x; int lock }
  off('v'), info(14), 1, 1,                                               # 8 var v int
  off('.data'), info(15, 1), 4, 8, 0, 4,                                  # 9 datasec .data
  0, info(3), 0, 5, 1, 2,                                                 # 10 long[2]
  off('bpf_timer'), info(4, 1), 16, off('x'), 10, 0,                      # 11 struct bpf_timer { long x[2] }
  off('t'), info(4, 2), 24, off('t'), 11, 0, off('x'), 5, 128,            # 12 struct t { bpf_timer t; long x }
]

def q(name, fn):
    try:
        r = fn(); print(f'{name}: OK {r if r is not None else ""}')
    except B.BpfError as e:
        print(f'{name}: {B.ERRNAME.get(e.errno, e.errno)}')

bfd = btf_fd(blob(TYPES, S))
mk = lambda t, k, v, m, kid, vid, fl=0, fd=bfd: B.map_create(t, k, v, m, fl, btf_fd=fd, btf_key=kid, btf_val=vid)
q('hash int/val', lambda: os.close(mk(1, 4, 8, 4, 1, 3)))
q('hash key without value', lambda: os.close(mk(1, 4, 8, 4, 1, 0)))
q('hash value only (key id 0)', lambda: os.close(mk(1, 4, 8, 4, 0, 3)))
q('hash bad btf fd', lambda: os.close(mk(1, 4, 8, 4, 1, 3, fd=999)))
q('hash btf fd 0', lambda: os.close(mk(1, 4, 8, 4, 1, 3, fd=0)))
m0 = B.map_create(2, 4, 4, 1)
q('hash btf fd is a map', lambda: os.close(mk(1, 4, 8, 4, 1, 3, fd=m0)))
q('hash value size mismatch', lambda: os.close(mk(1, 4, 12, 4, 1, 3)))
q('hash key size mismatch', lambda: os.close(mk(1, 8, 8, 4, 1, 3)))
q('hash key id past the types', lambda: os.close(mk(1, 4, 8, 4, 99, 3)))
q('hash value id 2 (the lock struct, 4 bytes)', lambda: os.close(mk(1, 4, 4, 4, 1, 2)))
q('array int key', lambda: os.close(mk(2, 4, 8, 4, 1, 3)))
q('array struct key of 8', lambda: os.close(mk(2, 8, 8, 4, 4, 3)))
q('array keyless datasec max 1', lambda: os.close(mk(2, 4, 4, 1, 0, 9)))
q('array keyless datasec max 2', lambda: os.close(mk(2, 4, 4, 2, 0, 9)))
q('array keyless int value', lambda: os.close(mk(2, 4, 4, 1, 0, 1)))
q('percpu_array int', lambda: os.close(mk(6, 4, 4, 1, 1, 1)))
q('percpu_hash spin lock', lambda: os.close(mk(5, 4, 8, 4, 1, 3)))
q('lru_hash spin lock', lambda: os.close(mk(9, 4, 8, 4, 1, 3)))
q('lru_hash timer', lambda: os.close(mk(9, 4, 24, 4, 1, 12)))
q('hash timer', lambda: os.close(mk(1, 4, 24, 4, 1, 12)))
q('percpu_hash timer', lambda: os.close(mk(5, 4, 24, 4, 1, 12)))
q('hash spin lock RDONLY_PROG', lambda: os.close(mk(1, 4, 8, 4, 1, 3, 0x80)))
two = list(TYPES) + [off('val'), info(4, 3), 12, off('lock'), 2, 0, off('x'), 1, 32, off('lock'), 2, 64]
q('load: a struct with two bpf_spin_locks', lambda: os.close(btf_fd(blob(two, S))))
odd = [off('int'), info(1), 4, (1 << 24) | 32, off('bpf_spin_lock'), info(4, 1), 8, off('val'), 1, 0, off('val'), info(4, 2), 12, off('lock'), 2, 0, off('x'), 1, 64]
q('load: a bpf_spin_lock of 8 bytes in a struct', lambda: os.close(btf_fd(blob(odd, S))))
mis = list(TYPES) + [off('val'), info(4, 2), 8, off('x'), 1, 0, off('lock'), 2, 16]
q('load: a bpf_spin_lock at byte 2', lambda: os.close(btf_fd(blob(mis, S))))
q('prog_array btf', lambda: os.close(mk(3, 4, 4, 4, 1, 1)))
q('prog_array key id 0', lambda: os.close(mk(3, 4, 4, 4, 0, 1)))
q('hash_of_maps btf', lambda: os.close(B.map_create(13, 4, 4, 4, 0, m0, btf_fd=bfd, btf_key=1, btf_val=1)))
q('percpu_array keyless datasec max 1', lambda: os.close(mk(6, 4, 4, 1, 0, 9)))
q('bloom key id int', lambda: os.close(mk(30, 0, 4, 4, 1, 1)))
q('hash value id 0 with key 0 and bad fd (no BTF read)', lambda: os.close(mk(1, 4, 8, 4, 0, 0, fd=999)))
q('array_of_maps btf', lambda: os.close(B.map_create(12, 4, 4, 4, 0, m0, btf_fd=bfd, btf_key=1, btf_val=1)))
q('queue value id', lambda: os.close(mk(22, 0, 4, 4, 0, 1)))
q('stack value id', lambda: os.close(mk(23, 0, 4, 4, 0, 1)))
q('bloom value id', lambda: os.close(mk(30, 0, 4, 4, 0, 1)))
q('lpm struct key', lambda: os.close(mk(11, 8, 4, 4, 4, 1, 1)))
q('lpm int key 8', lambda: os.close(mk(11, 8, 4, 4, 5, 1, 1)))
q('lpm key 0', lambda: os.close(mk(11, 8, 4, 4, 0, 1, 1)))
q('ringbuf value id', lambda: os.close(mk(27, 0, 0, 4096, 0, 1)))
q('mmapable array spin lock', lambda: os.close(mk(2, 4, 8, 4, 1, 3, 0x400)))
# F_LOCK
fd = mk(1, 4, 8, 4, 1, 3)
k = struct.pack('<I', 1)
q('F_LOCK update new', lambda: B.update(fd, k, b'\xaa\xbb\xcc\xdd\x05\0\0\0', B.F_LOCK))
q('lookup plain', lambda: B.lookup(fd, k, 8).hex())
q('lookup F_LOCK', lambda: B.lookup(fd, k, 8, B.F_LOCK).hex())
q('F_LOCK|NOEXIST existing', lambda: B.update(fd, k, b'\0' * 8, B.F_LOCK | B.NOEXIST))
q('F_LOCK|EXIST existing', lambda: B.update(fd, k, b'\x11\x22\x33\x44\x06\0\0\0', B.F_LOCK | B.EXIST))
q('lookup after', lambda: B.lookup(fd, k, 8).hex())
q('update F_LOCK|8', lambda: B.update(fd, k, b'\0' * 8, B.F_LOCK | 8))
q('lookup flags 8', lambda: B.lookup(fd, k, 8, 8).hex())
afd = mk(2, 4, 8, 4, 1, 3)
q('array F_LOCK update', lambda: B.update(afd, k, b'\xaa\xbb\xcc\xdd\x07\0\0\0', B.F_LOCK))
q('array F_LOCK NOEXIST', lambda: B.update(afd, k, b'\0' * 8, B.F_LOCK | B.NOEXIST))
q('array lookup F_LOCK', lambda: B.lookup(afd, k, 8, B.F_LOCK).hex())
nl = mk(1, 4, 8, 4, 1, 7)
q('no-lock BTF map F_LOCK update', lambda: B.update(nl, k, b'\0' * 8, B.F_LOCK))
plain = B.map_create(1, 4, 8, 4)
q('no-btf F_LOCK update', lambda: B.update(plain, k, b'\0' * 8, B.F_LOCK))
# info
ib = bytearray(88)
b = B.Buf(); out = b.out(88)
a = bytearray(168); struct.pack_into('<IIQ', a, 0, fd, 88, ctypes.addressof(out)); B.bpf(15, a)
mi = out.raw
print('map info btf_id, btf_key_type_id, btf_value_type_id:', struct.unpack_from('<III', mi, 64))
# mmap of a mmapable array whose value has a spin lock; lookup-and-delete; update batch with F_LOCK
import mmap as _mmap
mm = mk(2, 4, 8, 512, 1, 3, 0x400)
try:
    _mmap.mmap(mm, 4096, _mmap.MAP_SHARED, _mmap.PROT_READ); print('mmap spin-lock array: OK')
except OSError as e:
    print('mmap spin-lock array:', B.ERRNAME.get(e.errno, e.errno))
h = mk(1, 4, 8, 4, 1, 3)
b2 = B.Buf()
keys = struct.pack('<II', 1, 2); vals = struct.pack('<IIII', 9, 1, 9, 2)
def ubatch(flags):
    a = bytearray(168); cnt = ctypes.c_uint32(2)
    struct.pack_into('<QQQQIIQQ', a, 0, 0, 0, b2.ptr(keys), b2.ptr(vals), 2, 0, flags, 0)
    struct.pack_into('<I', a, 32, 2); struct.pack_into('<I', a, 36, h); struct.pack_into('<Q', a, 40, flags)
    return B.bpf(26, a)
q('update batch F_LOCK', lambda: ubatch(B.F_LOCK))
q('update batch F_LOCK|NOEXIST', lambda: ubatch(B.F_LOCK | B.NOEXIST))
def lad(k):
    bb = B.Buf(); out = bb.out(8)
    a = bytearray(168); struct.pack_into('<IIQQQ', a, 0, h, 0, bb.ptr(k), ctypes.addressof(out), 0)
    B.bpf(21, a); return out.raw[:8].hex()
q('lookup-and-delete', lambda: lad(struct.pack('<I', 2)))
# map-in-map: the inner template's record (special fields) must equal an inner map's
tmpl = mk(1, 4, 8, 4, 1, 3)
outer = B.map_create(12, 4, 4, 2, 0, tmpl)
same = mk(1, 4, 8, 4, 1, 3)
other_btf = btf_fd(blob(TYPES, S))
same_layout = mk(1, 4, 8, 4, 1, 3, fd=other_btf)
plain_h = B.map_create(1, 4, 8, 4)
nolock = mk(1, 4, 8, 4, 1, 7)
q('inner: same BTF, spin lock', lambda: B.update(outer, struct.pack('<I', 0), struct.pack('<I', same)))
q('inner: another BTF, same layout', lambda: B.update(outer, struct.pack('<I', 0), struct.pack('<I', same_layout)))
q('inner: no BTF', lambda: B.update(outer, struct.pack('<I', 0), struct.pack('<I', plain_h)))
q('inner: BTF without special fields', lambda: B.update(outer, struct.pack('<I', 0), struct.pack('<I', nolock)))
outer2 = B.map_create(12, 4, 4, 2, 0, plain_h)
q('plain template, spin-lock inner', lambda: B.update(outer2, struct.pack('<I', 0), struct.pack('<I', same)))
q('plain template, BTF inner without fields', lambda: B.update(outer2, struct.pack('<I', 0), struct.pack('<I', nolock)))
# does the outer map hold its template's BTF (bpf_map_meta_alloc's btf_get)?
def btf_id_of(fd):
    bb = B.Buf(); out = bb.out(32)
    a = bytearray(168); struct.pack_into('<IIQ', a, 0, fd, 32, ctypes.addressof(out)); B.bpf(15, a)
    return struct.unpack_from('<I', out.raw, 12)[0]
b3 = btf_fd(blob(TYPES, S)); bid = btf_id_of(b3)
t3 = mk(1, 4, 8, 4, 1, 3, fd=b3)
o3 = B.map_create(12, 4, 4, 2, 0, t3)
os.close(t3); os.close(b3)
def by_id(i):
    a = bytearray(168); struct.pack_into('<I', a, 0, i); return B.bpf(19, a)
q('template BTF id with only the outer map left', lambda: os.close(by_id(bid)))
os.close(o3)
import time; time.sleep(0.2)
q('after the outer map too', lambda: os.close(by_id(bid)))
