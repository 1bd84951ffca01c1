#!/usr/bin/env python3
"""Asks the running kernel what mmap(2) of bpf map fds answers, for test/sim-mmap.test.ts.

Each line is a case and its answer (OK or the errno's name), in the order the kernel checks:
sys_mmap's offset, the fd, do_mmap's length, address space and file mode, the file's mmap, then
bpf_map_mmap and array_map_mmap; then what a mapping holds (FREEZE's EBUSY, the map's life).
Maps are a few pages at most. Run as root:
  python3 probe-mmap.py /work/shared/spec/kernel-probes
"""
import ctypes, os, sys, time
sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else '/work/shared/spec/kernel-probes')
from bpfsys import *

libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
PROT_READ, PROT_WRITE, MAP_SHARED = 1, 2, 1
RW = PROT_READ | PROT_WRITE
PAGE = 4096

def mmap(fd, length, prot, off=0):
    """(address, length) or the errno's name."""
    ctypes.set_errno(0)
    p = libc.mmap(None, length, prot, MAP_SHARED, fd, off)
    if p is None or p == ctypes.c_void_p(-1).value:
        e = ctypes.get_errno(); return ERRNAME.get(e, e)
    return (p, length)

def case(label, fd, length, prot, off=0):
    r = mmap(fd, length, prot, off)
    print(f'{label:55s} {"OK" if isinstance(r, tuple) else r}')
    if isinstance(r, tuple): libc.munmap(*r)

def reopen(fd, flags): return get_fd_by_id(MAP_GET_FD_BY_ID, map_info(fd)['id'], flags)

a = map_create(ARRAY, 4, 8, 4, F_MMAPABLE)                      # 32 bytes of values: 1 page
ro, wo = reopen(a, F_RDONLY), reopen(a, F_WRONLY)
h = map_create(HASH, 4, 8, 4); hro, hwo = reopen(h, F_RDONLY), reopen(h, F_WRONLY)
pa = map_create(PERCPU_ARRAY, 4, 8, 4)
plain = map_create(ARRAY, 4, 8, 4)
plain_rop = map_create(ARRAY, 4, 8, 4, F_RDONLY_PROG)
rop = map_create(ARRAY, 4, 8, 4, F_MMAPABLE | F_RDONLY_PROG)
frozen_rop = map_create(ARRAY, 4, 8, 4, F_MMAPABLE | F_RDONLY_PROG); freeze(frozen_rop)
big = map_create(ARRAY, 4, 4000, 3, F_MMAPABLE)                 # 12000 bytes: 3 pages
small = map_create(ARRAY, 4, 4, 1024, F_MMAPABLE)               # stride 8: 2 pages
prog = prog_load_socket_filter()
BAD = 999

case('bad fd, offset 1', BAD, PAGE, PROT_READ, 1)
case('bad fd, length 0', BAD, 0, PROT_READ)
case('length 0', a, 0, PROT_READ)
case('offset 1', a, PAGE, PROT_READ, 1)
case('rdonly fd rw, length 0', ro, 0, RW)
case('wronly fd, length 2^47', wo, 1 << 47, PROT_READ)
case('prog fd, length 2^47', prog, 1 << 47, PROT_READ)
for e in (40, 46, 47): case(f'length 2^{e}', a, 1 << e, PROT_READ)
case('rdonly fd rw', ro, PAGE, RW)
case('wronly fd read', wo, PAGE, PROT_READ)
case('wronly hash fd read', hwo, PAGE, PROT_READ)
case('prog fd', prog, PAGE, PROT_READ)
case('fd 0', 0, PAGE, PROT_READ)
case('hash rw', h, PAGE, RW)
case('rdonly hash fd read', hro, PAGE, PROT_READ)
case('percpu array read', pa, PAGE, PROT_READ)
case('rdonly fd read', ro, PAGE, PROT_READ)
case('frozen rdonly_prog rw', frozen_rop, PAGE, RW)
case('frozen rdonly_prog read', frozen_rop, PAGE, PROT_READ)
case('rdonly_prog rw', rop, PAGE, RW)
case('rdonly_prog rw, 2 pages', rop, 2 * PAGE, RW)
case('rdonly_prog read', rop, PAGE, PROT_READ)
case('plain rdonly_prog rw', plain_rop, PAGE, RW)
case('plain rdonly_prog read', plain_rop, PAGE, PROT_READ)
case('plain rw', plain, PAGE, RW)
case('created RDONLY read', map_create(ARRAY, 4, 8, 4, F_MMAPABLE | F_RDONLY), PAGE, PROT_READ)
case('created WRONLY read', map_create(ARRAY, 4, 8, 4, F_MMAPABLE | F_WRONLY), PAGE, PROT_READ)
case('4097 bytes of 1 page', a, PAGE + 1, RW)
case('1 byte', a, 1, RW)
case('offset 4096 of 1 page', a, PAGE, RW, PAGE)
case('3 pages of 3', big, 3 * PAGE, RW)
case('4 pages of 3', big, 4 * PAGE, RW)
case('page 3 of 3', big, PAGE, RW, 2 * PAGE)
case('pages 3-4 of 3', big, 2 * PAGE, RW, 2 * PAGE)
case('offset 2^40', big, PAGE, RW, 1 << 40)
case('1024 x 4 B: 2 pages', small, 2 * PAGE, RW)
case('1024 x 4 B: 2 pages + 1', small, 2 * PAGE + 1, RW)

m = mmap(a, PAGE, RW)
buf = (ctypes.c_char * PAGE).from_address(m[0])
buf[8:16] = b'ABCDEFGH'
print('lookup 1 after a write through the mapping', lookup(a, u32(1), 8))
update(a, u32(2), b'12345678')
print('mapping bytes 16..24 after an update', bytes(buf[16:24]))
print('tail past the values reads', bytes(buf[32:40]))
m2 = mmap(a, PAGE, RW)
print('freeze with two writable mappings', try_(freeze, a))
libc.munmap(*m); print('freeze with one left', try_(freeze, a))
print('freeze through a read-only fd', try_(freeze, ro))
libc.munmap(*m2)
r = mmap(a, PAGE, PROT_READ)
print('freeze with a read-only mapping', try_(freeze, a)); libc.munmap(*r)
case('frozen rw', a, PAGE, RW)
case('frozen read', a, PAGE, PROT_READ)
print('freeze again', try_(freeze, a))

f = map_create(ARRAY, 4, 8, 4, F_MMAPABLE); fid = map_info(f)['id']
m = mmap(f, PAGE, RW); (ctypes.c_char * PAGE).from_address(m[0])[0:8] = b'persists'
os.close(f)
g = get_fd_by_id(MAP_GET_FD_BY_ID, fid)
print('by id after its fds are closed, while mapped:', lookup(g, u32(0), 8)); os.close(g)
libc.munmap(*m); time.sleep(0.2)
print('by id after munmap', try_(get_fd_by_id, MAP_GET_FD_BY_ID, fid))
