#!/usr/bin/python3
"""fmpoke.py - copy a featmodel file with one element of one tensor changed,
for tests of what the programs do with weights that are not finite.

Written from featmodel(5) alone (not from libfeat or contrib/featmodel.py):
the header gives the tensor count and the offsets of the directory and of
the data section; each directory entry is a name (u32 length, bytes), u32
dtype, u32 rank, rank u32 dims, u64 offset from the data section, u64 size.

Usage: fmpoke.py IN.fm OUT.fm TENSOR INDEX VALUE

TENSOR is a tensor's name, or #N for the N-th entry of the directory;
INDEX the element (negative counts from the end); VALUE a float as Python
reads it ("nan", "inf", "-inf", "1e39" all work).  The tensor must be f32
or f64.  Prints the name of the tensor changed.
"""
import struct
import sys

MAGIC = b"\x89FMD\r\n\x1a\n"
SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8, 7: None}


def entries(buf):
    if buf[:8] != MAGIC:
        sys.exit("fmpoke: not a featmodel file")
    ntensor, = struct.unpack_from("<I", buf, 24)
    tdir, data = struct.unpack_from("<QQ", buf, 48)
    pos = tdir
    for i in range(ntensor):
        n, = struct.unpack_from("<I", buf, pos)
        name = buf[pos + 4:pos + 4 + n].decode()
        pos += 4 + n
        dtype, rank = struct.unpack_from("<II", buf, pos)
        pos += 8 + 4 * rank
        off, size = struct.unpack_from("<QQ", buf, pos)
        pos += 16
        yield i, name, dtype, data + off, size


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__.split("\n\n")[2])
    src, dst, which, index, value = argv
    buf = bytearray(open(src, "rb").read())
    for i, name, dtype, off, size in entries(buf):
        if which == name or which == "#%d" % i:
            break
    else:
        sys.exit("fmpoke: no tensor %s" % which)
    if dtype not in (5, 6):
        sys.exit("fmpoke: tensor %s is not f32 or f64" % name)
    esize = SIZES[dtype]
    count = size // esize
    k = int(index)
    if k < 0:
        k += count
    if not 0 <= k < count:
        sys.exit("fmpoke: tensor %s has %d elements" % (name, count))
    struct.pack_into("<f" if dtype == 5 else "<d", buf, off + k * esize, float(value))
    open(dst, "wb").write(buf)
    print(name)


if __name__ == "__main__":
    main(sys.argv[1:])
