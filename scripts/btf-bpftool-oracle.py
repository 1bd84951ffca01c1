#!/usr/bin/env python3
"""What bpftool prints for maps with BTF: the oracle packages/core/test/btf-value.test.ts records.

Reads JSON cases from stdin ([{name, btf, keyTypeId, valueTypeId, keySize, valueSize, entries:
[[keyHex, valueHex], ...]}]), and for each loads the BTF (BPF_BTF_LOAD), creates a small HASH map
with it, fills it, runs `bpftool -j map dump id N` and `bpftool map dump id N`, and closes both fds.
Writes [{name, stdout, plain}] as JSON: the -j output and the plain one. Needs root, bpf(2) and bpftool; attaches nothing, pins nothing.
"""
import ctypes, json, os, struct, subprocess, sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
MAP_CREATE, MAP_UPDATE_ELEM, OBJ_GET_INFO_BY_FD, BTF_LOAD = 0, 2, 15, 18
HASH = 1

def bpf(cmd, attr):
    buf = (ctypes.c_char * len(attr)).from_buffer(attr)
    r = libc.syscall(NR_BPF, cmd, buf, len(attr))
    if r < 0:
        raise OSError(ctypes.get_errno(), f"bpf cmd {cmd}: {os.strerror(ctypes.get_errno())}")
    return r

def addr(b):
    return ctypes.addressof(ctypes.c_char.from_buffer(b))

def load_btf(raw):
    data = bytearray(raw)
    log = bytearray(65536)
    attr = bytearray(40)
    struct.pack_into("<QQIII", attr, 0, addr(data), addr(log), len(data), len(log), 1)
    try:
        return bpf(BTF_LOAD, attr)
    except OSError as e:
        text = log.split(b"\0")[0].decode()
        raise OSError(e.errno, "BTF_LOAD: %s: %s" % (e.strerror, text))

def run(case):
    btf_fd = load_btf(bytes.fromhex(case["btf"]))
    try:
        attr = bytearray(72)
        struct.pack_into("<IIIII", attr, 0, HASH, case["keySize"], case["valueSize"], max(1, len(case["entries"])), 0)
        struct.pack_into("<III", attr, 48, btf_fd, case["keyTypeId"], case["valueTypeId"])
        map_fd = bpf(MAP_CREATE, attr)
        try:
            for k, v in case["entries"]:
                kb, vb = bytearray.fromhex(k), bytearray.fromhex(v)
                a = bytearray(32)
                struct.pack_into("<IxxxxQQQ", a, 0, map_fd, addr(kb), addr(vb), 0)
                bpf(MAP_UPDATE_ELEM, a)
            info = bytearray(104)
            a = bytearray(16)
            struct.pack_into("<IIQ", a, 0, map_fd, len(info), addr(info))
            bpf(OBJ_GET_INFO_BY_FD, a)
            map_id = struct.unpack_from("<I", info, 4)[0]
            dump = lambda *opts: subprocess.run(["bpftool", *opts, "map", "dump", "id", str(map_id)], capture_output=True, text=True, check=True).stdout
            return {"stdout": dump("-j"), "plain": dump()}
        finally:
            os.close(map_fd)
    finally:
        os.close(btf_fd)

if __name__ == "__main__":
    cases = json.load(sys.stdin)
    json.dump([{"name": c["name"], **run(c)} for c in cases], sys.stdout, indent=1)
    print()
