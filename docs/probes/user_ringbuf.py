"""BPF_MAP_TYPE_USER_RINGBUF on the running kernel: its create rules, which of its pages mmap
maps (writable or not), poll's answer (EPOLLOUT while the ring has room), memlock and the element
calls. One line per question. Run as root: `python3 docs/probes/user_ringbuf.py`."""
import ctypes, errno as E, mmap, os, select, struct, sys
sys.path.insert(0, "/work/shared/spec/kernel-probes")
from bpfsys import bpf_raw, map_create, try_, ERRNAME, ATTR_SIZE, MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, MAP_GET_NEXT_KEY

RINGBUF, USER_RINGBUF = 27, 31
PAGE = mmap.PAGESIZE
SIZE = 4096

def show(q, a):
    print(f"{q}: {a}")

def mm(fd, length, writable, offset):
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
    try:
        m = mmap.mmap(fd, length, flags=mmap.MAP_SHARED, prot=prot, offset=offset)
        return "OK", m
    except OSError as ex:
        return ERRNAME.get(ex.errno, ex.errno), None

for t, name in ((USER_RINGBUF, "user_ringbuf"),):
    for q, args in (("key_size 4", (4, 0, SIZE)), ("value_size 4", (0, 4, SIZE)), ("max_entries 4095", (0, 0, 4095)),
                    ("max_entries 3*4096", (0, 0, 3 * 4096)), ("flags BPF_F_RDONLY", (0, 0, SIZE, 8)), ("flags BPF_F_NUMA_NODE", (0, 0, SIZE, 4))):
        r = try_(map_create, t, *args)
        show(f"create {name} {q}", r if isinstance(r, str) else "OK")
        if not isinstance(r, str): os.close(r[1])

fd = map_create(USER_RINGBUF, 0, 0, SIZE)
for q, (length, w, off) in {
    "consumer page writable": (PAGE, True, 0),
    "consumer+producer writable": (2 * PAGE, True, 0),
    "consumer page read-only": (PAGE, False, 0),
    "producer page writable": (PAGE, True, PAGE),
    "producer+data x2 writable": (PAGE + 2 * SIZE, True, PAGE),
    "data x2 writable": (2 * SIZE, True, 2 * PAGE),
    "producer+data x2 + 1 page writable": (PAGE + 2 * SIZE + PAGE, True, PAGE),
    "whole read-only": (2 * PAGE + 2 * SIZE, False, 0),
    "whole + 1 page read-only": (3 * PAGE + 2 * SIZE, False, 0),
}.items():
    r, m = mm(fd, length, w, off)
    show(f"mmap {q}", r)
    if m is not None: m.close()

def poll(fd, events):
    p = select.poll(); p.register(fd, events)
    return [ev for _, ev in p.poll(0)]

cons = mmap.mmap(fd, PAGE, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ, offset=0)
prod = mmap.mmap(fd, PAGE + 2 * SIZE, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE, offset=PAGE)
show("poll empty (POLLIN|POLLOUT)", poll(fd, select.POLLIN | select.POLLOUT))
for p in (SIZE - 8, SIZE, SIZE + 8, 2**64 - 8):
    struct.pack_into("<Q", prod, 0, p)
    show(f"poll producer_pos {p} (POLLIN|POLLOUT)", poll(fd, select.POLLIN | select.POLLOUT))
struct.pack_into("<Q", prod, 0, SIZE - 8)
show("poll producer_pos 4088 POLLIN only", poll(fd, select.POLLIN))
struct.pack_into("<Q", prod, 0, 0)
cons.close(); prod.close()

def fdinfo(fd):
    return dict(l.split(":\t", 1) for l in open(f"/proc/self/fdinfo/{fd}").read().strip().split("\n") if ":\t" in l)
show("fdinfo memlock", fdinfo(fd).get("memlock", "?").strip())

a = bytearray(ATTR_SIZE)
k = ctypes.create_string_buffer(8); v = ctypes.create_string_buffer(8)
for q, cmd in (("lookup", MAP_LOOKUP_ELEM), ("update", MAP_UPDATE_ELEM), ("get_next_key", MAP_GET_NEXT_KEY)):
    a = bytearray(ATTR_SIZE)
    struct.pack_into("<IIQQQ", a, 0, fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0)
    r, e = bpf_raw(cmd, a)
    show(f"{q}", "OK" if r >= 0 else ERRNAME.get(e, e))
os.close(fd)

rfd = map_create(RINGBUF, 0, 0, SIZE)
show("ringbuf poll empty (POLLIN|POLLOUT)", poll(rfd, select.POLLIN | select.POLLOUT))
os.close(rfd)
