#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora into tests/fuzz/corpus/<harness>/: a few small valid files of
each format (so the fuzzer starts deep inside the decoder) and a few invalid ones (truncated, bad
checksum, a header claiming too much). Deterministic; the files are committed, this script says how
they were made. Run from anywhere: python3 tests/fuzz/make_corpus.py
"""
import base64
import gzip
import io
import json
import os
import shutil
import struct
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")


def write(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- PNG ----------------------------------------------------------------------------------------
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(w, h, depth, color, raw, interlace=0, extra=b"", plte=None):
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace))
    if plte is not None:
        out += chunk(b"PLTE", plte)
    return out + extra + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def rows(w, h, samples, f):
    return b"".join(b"\x00" + bytes(f(x, y, s) for x in range(w) for s in range(samples)) for y in range(h))


def ramp(x, y, s):
    return (17 * x + 5 * y + 80 * s) & 255


def image_corpus():
    digit = rows(28, 28, 1, lambda x, y, s: 255 if 8 <= x < 20 and (y in (6, 7) or abs(x - (20 - (y - 6) // 2)) < 2) else 0)
    write("image", "grey28.png", png(28, 28, 8, 0, digit))
    write("image", "rgb8.png", png(8, 6, 8, 2, rows(8, 6, 3, ramp)))
    write("image", "rgba5.png", png(5, 4, 8, 6, rows(5, 4, 4, ramp)))
    write("image", "greyalpha.png", png(5, 4, 8, 4, rows(5, 4, 2, ramp)))
    write("image", "grey16.png", png(4, 3, 16, 0, rows(4, 3, 2, ramp)))
    write("image", "bits1.png", png(9, 2, 1, 0, b"\x00\xaa\x80\x00\x55\x00"))
    pal = bytes(v for i in range(16) for v in (i * 16, 255 - i * 16, 128))
    # A palette image with tRNS (between PLTE and IDAT): 4-bit indices, 2 pixels per byte.
    p = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 6, 4, 4, 3, 0, 0, 0)) + chunk(b"PLTE", pal)
    p += chunk(b"tRNS", bytes(range(0, 256, 32))) + chunk(b"IDAT", zlib.compress(rows(3, 4, 1, lambda x, y, s: (x * 0x12 + y) & 255)))
    write("image", "palette_trns.png", p + chunk(b"IEND", b""))
    adam = b""
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        for y in range(y0, 9, dy):
            xs = list(range(x0, 9, dx))
            if xs:
                adam += b"\x00" + bytes(ramp(x, y, 0) for x in xs)
    write("image", "interlaced9.png", png(9, 9, 8, 0, adam, interlace=1))
    filt = b"".join(bytes([y % 5]) + bytes(ramp(x, y, 0) for x in range(7)) for y in range(5))  # filters 0-4
    write("image", "filters.png", png(7, 5, 8, 0, filt))
    good = png(5, 4, 8, 0, rows(5, 4, 1, ramp))
    write("image", "bad_crc.png", good[:40] + bytes([good[40] ^ 1]) + good[41:])
    write("image", "truncated.png", good[: len(good) // 2])
    write("image", "bomb_16000.png", png(16000, 16000, 8, 0, b"\x00" * 2))
    write("image", "header.pgm", b"P5\n10000 7000\n255\n")
    write("image", "gif1x1.gif", bytes.fromhex("47494638396101000100800000ffffff0000002c00000000010001000002024401003b"))
    write("image", "jpeg_header.jpg", bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9"))
    return good


# ---- safetensors --------------------------------------------------------------------------------
def safetensors(header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def safetensors_corpus():
    one = safetensors({"__metadata__": {"advx.arch": "x"}, "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}},
                      struct.pack("<4f", 1, 2, 3, 4))
    write("safetensors", "tensor2x2.safetensors", one)
    two = safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                       "b": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]},
                       "c": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, struct.pack("<3f", 0.5, -1, 2))
    write("safetensors", "three.safetensors", two)
    write("safetensors", "empty_header.safetensors", safetensors({}, b""))
    write("safetensors", "hex_offset.safetensors", one.replace(b"[0,16]", b"[0x0,16]"))
    write("safetensors", "truncated.safetensors", one[:-5])
    write("safetensors", "huge_header_len.safetensors", struct.pack("<Q", 1 << 62) + b"{}")
    shutil.copy(os.path.join(ROOT, "assets/models/softmax.safetensors"), os.path.join(OUT, "safetensors", "softmax.safetensors"))


# ---- IDX, gzip, zip -----------------------------------------------------------------------------
def other_corpora():
    write("idx", "u8_2x3.idx", bytes([0, 0, 8, 2]) + struct.pack(">II", 2, 3) + bytes(range(6)))
    write("idx", "f32_2x2.idx", bytes([0, 0, 0x0D, 2]) + struct.pack(">II2f2f", 2, 2, 0.5, 1, -2, 3))
    write("idx", "wrap_4x2pow29.idx", bytes([0, 0, 8, 4]) + struct.pack(">IIII", 1 << 29, 1 << 29, 1 << 29, 1 << 29))
    write("idx", "truncated.idx", bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 2, 2) + bytes(5))
    data = bytes((i * i) >> 3 & 255 for i in range(3000))
    write("gzip", "plain.gz", gzip.compress(data, mtime=0))
    g = io.BytesIO()
    with gzip.GzipFile("name.bin", "wb", fileobj=g, mtime=0) as f:  # FNAME set
        f.write(b"hello " * 50)
    write("gzip", "with_name.gz", g.getvalue())
    write("gzip", "empty.gz", gzip.compress(b"", mtime=0))
    bad = bytearray(gzip.compress(data, mtime=0))
    bad[-6] ^= 1  # CRC
    write("gzip", "bad_crc.gz", bytes(bad))
    write("gzip", "huge_isize.gz", gzip.compress(b"x", mtime=0)[:-4] + struct.pack("<I", 0xFFFFFFFF))
    write("gzip", "not_gzip.bin", b"plain bytes")
    for name, method, comment in [("stored.zip", zipfile.ZIP_STORED, b""), ("comment.zip", zipfile.ZIP_STORED, b"hi"),
                                  ("deflated.zip", zipfile.ZIP_DEFLATED, b"")]:
        z = io.BytesIO()
        with zipfile.ZipFile(z, "w", compression=method) as f:
            f.comment = comment
            for member, content in [("test/cat/0000.jpg", b"\xff\xd8 not really"), ("b.txt", b"second member")]:
                info = zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = method
                f.writestr(info, content)
        write("zip", name, z.getvalue())
        if name == "stored.zip":
            write("zip", "truncated.zip", z.getvalue()[:-30])
    # Samples (playground): first byte 0 = MNIST shape, 1 = CIFAR-10; then gzip of records.
    mnist = bytes([7]) + bytes(ramp(x, y, 0) for y in range(28) for x in range(28))
    write("samples", "mnist2.bin", b"\x00" + gzip.compress(mnist + bytes([3]) + bytes(784), mtime=0))
    write("samples", "cifar1.bin", b"\x01" + gzip.compress(bytes([9]) + bytes(range(256)) * 12, mtime=0))
    write("samples", "bad_label.bin", b"\x00" + gzip.compress(bytes([12]) + bytes(784), mtime=0))
    write("samples", "partial.bin", b"\x00" + gzip.compress(bytes(500), mtime=0))


# ---- text: URL state, manifest, sequences -------------------------------------------------------
def text_corpora(tiny_png):
    img = base64.urlsafe_b64encode(tiny_png).decode().rstrip("=")
    for i, q in enumerate([
        "model=cnn&attack=pgd&eps=0.1&steps=10&step_size=0.01&restarts=1&target=-1&seed=0",
        "#model=small&attack=fgsm&eps=0.3&target=3&seed=17&test=42&hide=attack,robustness,help",
        "model=small&attack=bim&eps=0.2&defence=threshold&threshold=0.5&adaptive=1&bpda=0&preprocess=0&brush=6.5",
        "?img=" + img,
        "attack=nope&eps=2&steps=0x3&target=abc&defence=zzz&foo=1&seed=-4&test=99999999999999999999",
        "model=%E2%9C%93&hide=%2C%2C,input&&&=&eps=1e-3&brush=0.5",
    ]):
        write("state", f"query{i}.txt", q.encode())
    manifest = {
        "default": "small",
        "models": [{"name": "small", "file": "models/small.safetensors", "bytes": 672104, "arch": "small",
                    "sha256": "0" * 64, "params": 167562, "test_acc": 0.9866, "dataset": "mnist"},
                   {"name": "cifar_lenet", "file": "models/cifar_lenet.safetensors", "bytes": 250000,
                    "arch": "cifar_lenet", "params": 62006, "test_acc": None, "dataset": "cifar10"}],
        "datasets": {"mnist": {"file": "samples/mnist.bin.gz", "bytes": 123456, "sha256": "1" * 64, "shape": [1, 28, 28],
                               "classes": [str(i) for i in range(10)], "eps_max": 0.3}},
    }
    write("manifest", "models.json", json.dumps(manifest, indent=1).encode())
    write("manifest", "no_models.json", b'{"default":"cnn","datasets":{}}')
    write("manifest", "big_numbers.json", b'{"models":[{"name":"a","file":"a","bytes":1e300,"params":-1e300,"test_acc":1e39}],'
                                          b'"datasets":{"d":{"file":"f","bytes":-5,"shape":[4294967296,-1,1.5],"eps_max":1e400}}}')
    write("manifest", "not_json.json", b"{models: [}")
    write("sequences", "sms.txt", b"\x00ham\tGo until jurong point, crazy.. Available only in bugis n great world la e buffet...\n"
                                 b"spam\tFREE entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005. Text FA to 87121\r\n"
                                 b"ham\tI'm gonna be home soon \xc2\xa3100 don't\n")
    sha = "0123456789abcdef" * 4
    write("sequences", "malbehavd.csv", ("\x01sha256,labels,0,1,2,3\n" + sha + ",1,LdrLoadDll,NtClose,,\n" + sha.replace("0", "f")
                                         + ",0,RegOpenKeyExW,NtClose,NtOpenFile,CreateFileW\n").encode())
    write("sequences", "tokens.txt", b"\x02Don't stop \xe2\x82\xac5 'quoted' x'y \xff\xfe end")
    write("sequences", "bad_sms.txt", b"\x00spamham no tab here\n")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    tiny = image_corpus()
    safetensors_corpus()
    other_corpora()
    text_corpora(tiny)
    for h in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, h))
        print(f"{h}: {len(files)} files, {sum(os.path.getsize(os.path.join(OUT, h, f)) for f in files)} bytes")


if __name__ == "__main__":
    main()
