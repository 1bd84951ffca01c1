#!/usr/bin/env python3
"""BPF_BTF_LOAD on this kernel for each blob file given: one JSON line per blob with the errno
(0 when it loaded; the fd is closed at once) and the log at level 1 with a 64 KiB buffer.
usage: btf_load.py FILE...   (the simulator's differential, docs/simulator-exactness.md "BTF")"""
import ctypes, json, os, struct, sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR_BPF, BTF_LOAD = 321, 18

def load(data, level=1, log_size=65536):
    buf = ctypes.create_string_buffer(bytes(data), max(len(data), 1))
    log = ctypes.create_string_buffer(log_size) if log_size else None
    attr = bytearray(168)
    struct.pack_into('<QQIII', attr, 0, ctypes.addressof(buf), ctypes.addressof(log) if log else 0,
                     len(data), log_size, level)
    a = (ctypes.c_char * len(attr)).from_buffer(attr)
    ctypes.set_errno(0)
    r = libc.syscall(NR_BPF, BTF_LOAD, a, len(attr))
    err = ctypes.get_errno() if r < 0 else 0
    if r >= 0:
        os.close(r)
    text = log.value.decode('latin-1') if log else ''
    return err, text

if __name__ == '__main__':
    for path in sys.argv[1:]:
        data = open(path, 'rb').read()
        err, text = load(data)
        print(json.dumps({'file': os.path.basename(path), 'errno': err, 'log': text}))
