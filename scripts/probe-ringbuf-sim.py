#!/usr/bin/env python3
"""Probes BPF_MAP_TYPE_RINGBUF on this kernel for the simulator (packages/driver-wasm-sim):
create checks, element syscalls, fdinfo memlock, map-in-map, mmap checks and the double-mapped
data, and the producer helpers run by BPF_PROG_TEST_RUN in socket-filter programs attached to
nothing. Maps of at most 1 MiB. Prints one line per fact; run as root."""
import ctypes, errno as E, mmap, os, struct, sys
sys.path.insert(0, '/work/shared/spec/kernel-probes')
from bpfsys import *  # noqa
from bpfsys import _elem_attr

RINGBUF = 27
PAGE = 4096
BUSY, DISCARD = 1 << 31, 1 << 30
RB_NO_WAKEUP, RB_FORCE_WAKEUP = 1, 2
AVAIL_DATA, RING_SIZE, CONS_POS, PROD_POS = 0, 1, 2, 3
PROG_TEST_RUN = 10
fds = []

def out(k, v): print(f'{k}: {v}')

def mk(maxe, flags=0, k=0, v=0):
    fd = map_create(RINGBUF, k, v, maxe, flags); fds.append(fd); return fd

def ins(code, dst=0, src=0, off=0, imm=0): return struct.pack('<BBhi', code, (src << 4) | dst, off, imm)
def ld_map(reg, fd): return ins(0x18, reg, 1, 0, fd) + ins(0, 0, 0, 0, 0)
def mov_imm(d, imm): return ins(0xb7, d, 0, 0, imm)
def mov_reg(d, s): return ins(0xbf, d, s)
def call(n): return ins(0x85, 0, 0, 0, n)
EXIT = ins(0x95)

def prog_load(insns):
    b = Buf(); a = bytearray(ATTR_SIZE); log = b.out(65536)
    struct.pack_into('<IIQQIIQ', a, 0, 1, len(insns) // 8, b.ptr(insns), b.ptr(b'GPL\0'), 1, 65536, ctypes.addressof(log))
    r, e = bpf_raw(PROG_LOAD, a)
    if r < 0: raise RuntimeError(f'load: {ERRNAME.get(e, e)}\n{log.value.decode()[-2000:]}')
    return r

def test_run(pfd):
    b = Buf(); a = bytearray(ATTR_SIZE); pkt = b.ptr(bytes(14))
    struct.pack_into('<IIIIQ', a, 0, pfd, 0, 14, 0, pkt)
    bpf(PROG_TEST_RUN, a)
    return struct.unpack_from('<i', a, 4)[0]

def run(insns):
    pfd = prog_load(insns)
    try: return test_run(pfd)
    finally: os.close(pfd)

def stack_fill(n, seed):
    """n bytes (multiple of 8) at fp-n.. with byte i = (seed + i) & 0xff."""
    code = b''
    for o in range(0, n, 8):
        word = bytes(((seed + o + j) & 0xff) for j in range(8))
        lo, hi = struct.unpack('<ii', word)
        # *(u32*)(fp - n + o) = lo; *(u32*)(fp - n + o + 4) = hi
        code += ins(0x62, 10, 0, -n + o, lo) + ins(0x62, 10, 0, -n + o + 4, hi)
    return code

def output(fd, size, flags=0, seed=0):
    n = (size + 7) & ~7 or 8
    return run(stack_fill(n, seed) + ld_map(1, fd) + mov_reg(2, 10) + ins(0x07, 2, 0, 0, -n) +
               mov_imm(3, size) + mov_imm(4, flags) + call(130) + EXIT)

def reserve_commit(fd, size, discard=False, flags=0, rflags=0):
    """reserve(size, rflags); NULL → 1; else commit with flags → 0."""
    body = ld_map(1, fd) + mov_imm(2, size) + mov_imm(3, rflags) + call(131)
    tail = mov_reg(1, 0) + mov_imm(2, flags) + call(133 if discard else 132) + mov_imm(0, 0) + EXIT
    return run(body + ins(0x55, 0, 0, 2, 0) + mov_imm(0, 1) + EXIT + tail)

def query(fd, flags):
    return run(ld_map(1, fd) + mov_imm(2, flags) + call(134) + EXIT) & 0xffffffff

def pending_probe(fd, a, b):
    """reserve a, keep it BUSY, reserve b: 1 when b fit, 0 when not; both then discarded."""
    p = ld_map(1, fd) + mov_imm(2, a) + mov_imm(3, 0) + call(131)
    p += ins(0x55, 0, 0, 2, 0) + mov_imm(0, 2) + EXIT
    p += mov_reg(6, 0) + ld_map(1, fd) + mov_imm(2, b) + mov_imm(3, 0) + call(131)
    p += ins(0x55, 0, 0, 5, 0)  # r0 != 0 → skip 5
    p += mov_reg(1, 6) + mov_imm(2, 0) + call(133) + mov_imm(0, 0) + EXIT
    p += mov_reg(1, 0) + mov_imm(2, 0) + call(133) + mov_reg(1, 6) + mov_imm(2, 0) + call(133) + mov_imm(0, 1) + EXIT
    return run(p)

def err_of(fn, *a):
    try: fn(*a); return 'OK'
    except BpfError as ex: return ERRNAME.get(ex.errno, ex.errno)
    except OSError as ex: return ERRNAME.get(ex.errno, ex.errno)

def memlock(fd):
    for line in open(f'/proc/self/fdinfo/{fd}'):
        if line.startswith('memlock:'): return int(line.split()[1])

def fdinfo(fd): return open(f'/proc/self/fdinfo/{fd}').read().replace('\n', ' | ')

# ---- create
for name, args in [('4096', (4096,)), ('0', (0,)), ('4095', (4095,)), ('2048', (2048,)), ('12288', (12288,)),
                   ('8192', (8192,)), ('1<<20', (1 << 20,)), ('key 4', (4096, 0, 4, 0)), ('value 4', (4096, 0, 0, 4)),
                   ('NUMA_NODE', (4096, F_NUMA_NODE)), ('RDONLY', (4096, F_RDONLY)), ('WRONLY', (4096, F_WRONLY)),
                   ('RDONLY_PROG', (4096, F_RDONLY_PROG)), ('WRONLY_PROG', (4096, F_WRONLY_PROG)),
                   ('MMAPABLE', (4096, F_MMAPABLE)), ('NO_PREALLOC', (4096, F_NO_PREALLOC)), ('1<<16 flag', (4096, 1 << 16)),
                   ('1<<19 flag', (4096, 1 << 19)), ('key 4 + flag', (4096, F_MMAPABLE, 4, 0)),
                   ('3<<12 key4', (12288, 0, 4, 0))]:
    def c(args=args):
        maxe, flags, k, v = (list(args) + [0, 0, 0])[:4]
        fd = map_create(RINGBUF, k, v, maxe, flags); os.close(fd)
    out(f'create {name}', err_of(c))
out('create map_extra 1', err_of(lambda: os.close(map_create(RINGBUF, 0, 0, 4096, map_extra=1))))

# ---- memlock, info
for n in (4096, 8192, 65536, 1 << 20):
    fd = mk(n); out(f'memlock {n}', memlock(fd))
fd = mk(4096)
out('fdinfo', fdinfo(fd))
out('info', {k: v for k, v in map_info(fd).items() if k in ('type', 'key_size', 'value_size', 'max_entries', 'map_flags', 'map_extra')})

# ---- element syscalls
def lk(key): b = Buf(); bpf(MAP_LOOKUP_ELEM, _elem_attr(fd, b.ptr(key) if key is not None else 0, ctypes.addressof(b.out(8)), 0))
def up(key): b = Buf(); bpf(MAP_UPDATE_ELEM, _elem_attr(fd, b.ptr(key) if key is not None else 0, ctypes.addressof(b.out(8)), 0))
def dl(key): b = Buf(); bpf(MAP_DELETE_ELEM, _elem_attr(fd, b.ptr(key) if key is not None else 0, 0, 0))
def nk(key): b = Buf(); bpf(MAP_GET_NEXT_KEY, _elem_attr(fd, b.ptr(key) if key is not None else 0, ctypes.addressof(b.out(8)), 0))
def lad(key): b = Buf(); bpf(MAP_LOOKUP_AND_DELETE_ELEM, _elem_attr(fd, b.ptr(key) if key is not None else 0, ctypes.addressof(b.out(8)), 0))
for nm, f in [('lookup', lk), ('update', up), ('delete', dl), ('get_next_key', nk), ('lookup_and_delete', lad)]:
    out(f'{nm} key NULL', err_of(f, None)); out(f'{nm} key ptr', err_of(f, b'x'))
def lkf(flags): b = Buf(); bpf(MAP_LOOKUP_ELEM, _elem_attr(fd, 0, ctypes.addressof(b.out(8)), flags))
def upf(flags): b = Buf(); bpf(MAP_UPDATE_ELEM, _elem_attr(fd, 0, ctypes.addressof(b.out(8)), flags))
out('lookup flags F_LOCK', err_of(lkf, F_LOCK)); out('update flags F_LOCK', err_of(upf, F_LOCK)); out('update flags 7', err_of(upf, 7))
for nm, cmd in [('lookup_batch', MAP_LOOKUP_BATCH), ('lookup_and_delete_batch', MAP_LOOKUP_AND_DELETE_BATCH),
                ('update_batch', MAP_UPDATE_BATCH), ('delete_batch', MAP_DELETE_BATCH)]:
    out(f'{nm} count 1', batch(cmd, fd, count=1, ksz=0, vsz=0, batch_sz=8)[:2])
    out(f'{nm} count 0', batch(cmd, fd, count=0, ksz=0, vsz=0, batch_sz=8)[:2])
rofd = get_fd_by_id(MAP_GET_FD_BY_ID, map_info(fd)['id'], F_RDONLY); fds.append(rofd)
out('lookup via RDONLY fd key NULL', err_of(lambda: (lambda b: bpf(MAP_LOOKUP_ELEM, _elem_attr(rofd, 0, ctypes.addressof(b.out(8)), 0)))(Buf())))
out('update via RDONLY fd', err_of(lambda: (lambda b: bpf(MAP_UPDATE_ELEM, _elem_attr(rofd, 0, ctypes.addressof(b.out(8)), 0)))(Buf())))
fz = mk(4096)
out('freeze', err_of(freeze, fz)); out('freeze again', err_of(freeze, fz))

# ---- map-in-map
inner = mk(4096); other = mk(8192)
for t, tn in ((ARRAY_OF_MAPS, 'array_of_maps'), (HASH_OF_MAPS, 'hash_of_maps')):
    try:
        o = map_create(t, 4, 4, 2, 0, inner); fds.append(o)
        out(f'{tn} with ringbuf inner', 'OK')
        out(f'{tn} update same size', err_of(update, o, u32(0), u32(inner)))
        out(f'{tn} update 8192 ring', err_of(update, o, u32(1), u32(other)))
    except BpfError as ex: out(f'{tn} with ringbuf inner', ERRNAME.get(ex.errno))

# ---- mmap
def mm(fd, length, prot, off=0):
    m = mmap.mmap(fd, length, mmap.MAP_SHARED, prot, offset=off); m.close()
R, W = mmap.PROT_READ, mmap.PROT_READ | mmap.PROT_WRITE
fd = mk(4096)
for nm, a in [('w off0 1pg', (4096, W)), ('w off0 100B', (100, W)), ('w off0 2pg', (8192, W)), ('w off4096 1pg', (4096, W, 4096)),
              ('r off0 1pg', (4096, R)), ('r off4096 1pg', (4096, R, 4096)), ('r off0 4pg (2+2*1)', (16384, R)),
              ('r off0 5pg', (20480, R)), ('r off4096 3pg', (12288, R, 4096)), ('r off4096 4pg', (16384, R, 4096)),
              ('r off 16384 1pg', (4096, R, 16384)), ('w off 16384 1pg', (4096, W, 16384)), ('w off0 5pg', (20480, W)),
              ('r off 100', (4096, R, 100))]:
    out(f'mmap {nm}', err_of(mm, fd, *a))
out('mmap rdonly-fd r', err_of(mm, get_fd_by_id(MAP_GET_FD_BY_ID, map_info(fd)['id'], F_RDONLY), 4096, R))
wfd = get_fd_by_id(MAP_GET_FD_BY_ID, map_info(fd)['id'], F_WRONLY)
out('mmap wronly-fd w', err_of(mm, wfd, 4096, W))
fz = mk(4096); freeze(fz)
out('mmap frozen w off0 1pg', err_of(mm, fz, 4096, W)); out('mmap frozen w 2pg', err_of(mm, fz, 8192, W))
out('mmap frozen r', err_of(mm, fz, 16384, R))
fb = mk(4096); keep = mmap.mmap(fb, 4096, mmap.MAP_SHARED, W)
out('freeze with writable consumer mapping', err_of(freeze, fb)); keep.close()
out('freeze after munmap', err_of(freeze, fb))
keepr = mmap.mmap(fb, 16384, mmap.MAP_SHARED, R)
out('freeze(again) with read mapping', err_of(freeze, fb)); keepr.close()

# ---- producer: headers, pg_off, positions, wrap, consumer writes
fd = mk(4096)
cons = mmap.mmap(fd, 4096, mmap.MAP_SHARED, W)
ro = mmap.mmap(fd, 4 * PAGE, mmap.MAP_SHARED, R)
def pos(): return struct.unpack_from('<Q', cons, 0)[0], struct.unpack_from('<Q', ro, PAGE)[0]
def hdr(p): return struct.unpack_from('<II', ro, 2 * PAGE + (p & 4095))
out('output 13', output(fd, 13, 0, 1)); out('pos', pos()); out('hdr@0', hdr(0))
out('data@8', ro[2 * PAGE + 8:2 * PAGE + 8 + 16].hex())
out('output 0', output(fd, 0)); out('pos', pos()); out('hdr@24', hdr(24))
out('output flags 3', output(fd, 8, 3)); out('output flags 4', output(fd, 8, 4)); out('output flags NO_WAKEUP', output(fd, 8, 1))
out('pos', pos())
out('reserve flags 1 (NULL→1)', reserve_commit(fd, 8, rflags=1))
out('reserve+discard 5', reserve_commit(fd, 5, discard=True)); p = pos()[1]; out('pos', pos()); out('hdr of discarded', hdr(p - 16))
out('reserve+submit flags 0xff', reserve_commit(fd, 8, flags=0xff)); out('pos', pos())
out('pending_pos (producer page byte 8) after 6 records', struct.unpack_from('<Q', ro, PAGE + 8)[0])
out('query AVAIL', query(fd, AVAIL_DATA)); out('query RING_SIZE', query(fd, RING_SIZE)); out('query CONS', query(fd, CONS_POS)); out('query PROD', query(fd, PROD_POS)); out('query 4', query(fd, 4))
# fill: at most size - 1 bytes are ever in the ring
out('reserve 4088 (record 4096 = the ring)', reserve_commit(fd, 4088)); out('reserve 4089 (record past the ring)', reserve_commit(fd, 4089))
c, pr = pos(); out('pos before fill', (c, pr))
room = 4095 - (pr - c)
out(f'room {room}: reserve {room - 8 - 7} (the last whole record)', reserve_commit(fd, (room - 8) & ~7))
out('pos', pos()); out('reserve 0 when full (NULL→1)', reserve_commit(fd, 0)); out('avail', query(fd, AVAIL_DATA))
# consume all by writing cons = prod, then wrap
struct.pack_into('<Q', cons, 0, pos()[1]); out('after cons=prod pos', pos()); out('query CONS', query(fd, CONS_POS))
out('output 400 at 4088 (wraps)', output(fd, 400, 0, 7)); c, pr = pos(); out('pos', (c, pr)); out('hdr', hdr(c))
at = 2 * PAGE + (c & 4095) + 8
out('wrapped record read straight on through the second copy', bytes(ro[at:at + 400]) == bytes(((7 + i) & 0xff) for i in range(400)))
out('second copy equals the first', bytes(ro[3 * PAGE:4 * PAGE]) == bytes(ro[2 * PAGE:3 * PAGE]))
# consumer position far ahead or behind
struct.pack_into('<Q', cons, 0, pos()[1] + 100); out('cons=prod+100: output 8', output(fd, 8)); out('avail (low 32 bits of the u64)', query(fd, AVAIL_DATA))
struct.pack_into('<Q', cons, 0, 0); out('cons=0 (behind): output 8', output(fd, 8)); out('pos', pos())
# pg_off on a bigger ring
fd2 = mk(16384); ro2 = mmap.mmap(fd2, 2 * PAGE + 2 * 16384, mmap.MAP_SHARED, R)
for i in range(5): output(fd2, 504, 0, i)
for i in range(40):
    if reserve_commit(fd2, 2000) != 0: break
c2 = struct.unpack_from('<Q', ro2, PAGE)[0]
pgs = []
p = 0
while p < c2 and len(pgs) < 12:
    ln, pg = struct.unpack_from('<II', ro2, 2 * PAGE + (p & 16383)); pgs.append((p, ln, pg)); p += ((ln & ~(BUSY | DISCARD)) + 8 + 7) & ~7
out('16K ring headers (pos, len, pg_off)', pgs)

# ---- the pending rule: a BUSY record bounds the room as the consumer does
fd3 = mk(4096); c3 = mmap.mmap(fd3, 4096, mmap.MAP_SHARED, W)
struct.pack_into('<Q', c3, 0, 2008)
out('pending: cons=2008, reserve 2000 then 2500 with the first BUSY', pending_probe(fd3, 2000, 2500))
out('pending: then prod', query(fd3, PROD_POS))
pp3 = mmap.mmap(fd3, 2 * PAGE, mmap.MAP_SHARED, R, offset=0)
out('pending: then pending_pos (the failed reserve stepped it to the BUSY record at 0)', struct.unpack_from('<Q', pp3, PAGE + 8)[0]); pp3.close()
out('pending: one more output of 8 (steps pending_pos past the discarded record)', output(fd3, 8))
pp3 = mmap.mmap(fd3, 2 * PAGE, mmap.MAP_SHARED, R, offset=0)
out('pending: pending_pos then', struct.unpack_from('<Q', pp3, PAGE + 8)[0]); pp3.close()
for sz in (4089, 4088):
    out(f'pending: reserve {sz} (NULL→1)', reserve_commit(fd3, sz))
    pp3 = mmap.mmap(fd3, 2 * PAGE, mmap.MAP_SHARED, R, offset=0)
    out(f'pending: pending_pos after reserve {sz}', struct.unpack_from('<Q', pp3, PAGE + 8)[0]); pp3.close()
fd4 = mk(4096); c4 = mmap.mmap(fd4, 4096, mmap.MAP_SHARED, W)
struct.pack_into('<Q', c4, 0, 2008)
out('pending control: cons=2008, reserve 2000 then 1000', pending_probe(fd4, 2000, 1000))
for m in (cons, ro, ro2, c3, c4): m.close()
for f in fds: os.close(f)
