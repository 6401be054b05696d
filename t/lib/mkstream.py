#!/usr/bin/python3
"""mkstream.py - write a featstream from a JSON description, for tests.

Written from featstream(5) alone (not from libfeat), so that the tests
that feed its output to the programs also check the format independently.

Usage: mkstream.py [--no-header] [--truncate N] [--flip OFFSET[:MASK]]
                   [DESCRIPTION.json | -] > out.fs

The description is a JSON list of records (or {"records": [...]}):

  [{"key": "a.jpg",                      # UTF-8; or "key_hex": "61ff" for raw bytes
    "status": "ok",                      # or "error" (default "ok")
    "message": "corrupt JPEG",           # error records (default "")
    "tensors": [
      {"name": "code", "dtype": "bit", "shape": [12],
       "values": [1,0,1,0, 0,1,0,1, 1,1,1,1]},    # bits packed MSB first
      {"name": "feat", "dtype": "f32", "shape": [2], "values": [0.5, -1]},
      {"name": "code", "dtype": "u8", "shape": [8], "hex": "0011..."},  # raw payload
      {"name": "image", "dtype": "u8", "shape": [2, 3, 3]}             # zero filled
    ]}]

--truncate N drops the last N bytes; --flip OFFSET[:MASK] XORs the byte
at OFFSET with MASK (default 0x01); both act after the stream is built.
"""
import json
import struct
import sys
import zlib

DTYPES = {  # name: (code, element size, struct format)
    "u8": (1, 1, "B"), "i8": (2, 1, "b"), "u16": (3, 2, "H"),
    "i32": (4, 4, "i"), "f32": (5, 4, "f"), "f64": (6, 8, "d"),
    "bit": (7, None, None),
}
MAGIC = b"\x89FST\r\n\x1a\n"


def align(n, a=64):
    return (n + a - 1) // a * a


def payload(t):
    code, size, fmt = DTYPES[t["dtype"]]
    count = 1
    for d in t["shape"]:
        count *= d
    nbytes = (count + 7) // 8 if size is None else count * size
    if "hex" in t:
        data = bytes.fromhex(t["hex"])
    elif "values" in t:
        v = t["values"]
        if len(v) != count:
            sys.exit("mkstream: tensor %s: %d values for %d elements"
                     % (t["name"], len(v), count))
        if size is None:
            b = bytearray(nbytes)
            for i, bit in enumerate(v):
                if bit:
                    b[i // 8] |= 0x80 >> (i % 8)
            data = bytes(b)
        else:
            data = struct.pack("<%d%s" % (count, fmt), *v)
    else:
        data = bytes(nbytes)
    if len(data) != nbytes:
        sys.exit("mkstream: tensor %s: %d payload bytes, shape needs %d"
                 % (t["name"], len(data), nbytes))
    return code, data


def record(r):
    key = bytes.fromhex(r["key_hex"]) if "key_hex" in r else r.get("key", "").encode()
    msg = r.get("message", "").encode()
    status = {"ok": 0, "error": 1}[r.get("status", "ok")]
    tensors = r.get("tensors", [])
    dirpos = 64 + align(len(key) + len(msg))
    off = dirpos + 64 * len(tensors)
    entries, blobs = b"", []
    for t in tensors:
        code, data = payload(t)
        name = t["name"].encode()
        shape = list(t["shape"])
        off = align(off)
        entries += (name.ljust(20, b"\0")
                    + struct.pack("<HH", code, len(shape))
                    + struct.pack("<6I", *(shape + [0] * (6 - len(shape))))
                    + struct.pack("<QQ", off, len(data)))
        blobs.append((off, data))
        off += len(data)
    size = align(off)
    body = bytearray(size)
    body[64:64 + len(key) + len(msg)] = key + msg
    body[dirpos:dirpos + len(entries)] = entries
    for o, data in blobs:
        body[o:o + len(data)] = data
    struct.pack_into("<4sIQIIII", body, 0, b"FREC", 0, size, len(key),
                     len(msg), status, len(tensors))
    struct.pack_into("<I", body, 4, zlib.crc32(bytes(body[8:])) & 0xffffffff)
    return bytes(body)


def main(argv):
    header, truncate, flips, src = True, 0, [], "-"
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--no-header":
            header = False
        elif a == "--truncate":
            truncate = int(args.pop(0))
        elif a == "--flip":
            o, _, m = args.pop(0).partition(":")
            flips.append((int(o, 0), int(m, 0) if m else 1))
        else:
            src = a
    desc = json.load(sys.stdin if src == "-" else open(src))
    if isinstance(desc, dict):
        desc = desc["records"]
    out = bytearray()
    if header:
        out += MAGIC + struct.pack("<HHI", 1, 0, 64) + bytes(48)
    for r in desc:
        out += record(r)
    for o, m in flips:
        out[o] ^= m
    if truncate:
        out = out[:-truncate]
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main(sys.argv[1:])
