#!/usr/bin/env python3
"""Mutation fuzzer over every input reader of tenor (standard library only).

For each reader format it takes a valid seed file (written by tenor itself, or
by this script for the plain-text formats), makes mutants with a fixed seed
(byte flips, truncation, duplicated/dropped lines, evil numbers in number
fields, extra/missing fields, BOM, very long lines, damaged HDF5 metadata,
attributes and data at random offsets), runs the tenor command that reads the
file on each at 1 and 3 ranks with a timeout (the mutants of the class labels
and the clamp list each at one of them in turn, the partition file at the
largest, its part count), and checks the contract of README.md "File formats":

  * exit status != 0 with exactly one "tenor: error:" line and no noise
    (no signal or abort banner, no HDF5-DIAG, no PETSC ERROR, no sanitizer
    report), or
  * exit status 0 with a valid result: the output files present and every
    number in them finite, and no noise either.

A failing mutant is kept in WORKDIR/failures/ with the command line that
reproduces it (cmd.sh) and its output; WORKDIR/summary.txt groups the
failures by format, mutation class and kind. Failures whose (format, class)
is listed in tests/fuzz/known_failures.txt are expected failures: reported,
not counted. Exit status: 0 if every failure was expected, 1 otherwise.

Usage: fuzz.py TENOR WORKDIR [options]; every option has an environment
variable (TENOR_FUZZ_*) so that a larger run needs no edit of the CTest:

  --mutants N   mutants per format, at least one  (TENOR_FUZZ_MUTANTS, 12)
                per mutation class
  --seed S      seed of the mutations           (TENOR_FUZZ_SEED, 1)
  --ranks L     rank counts, e.g. 1,3           (TENOR_FUZZ_RANKS, 1,3)
  --formats L   formats, comma-separated        (TENOR_FUZZ_FORMATS, all)
  --jobs J      runs in parallel                (TENOR_FUZZ_JOBS, 2)
  --timeout T   seconds per run before a hang   (TENOR_FUZZ_TIMEOUT, 60)
  --known FILE  expected failures               (TENOR_FUZZ_KNOWN)
  --memlimit G  GiB of address space per process (TENOR_FUZZ_MEMLIMIT, 4)
  --corpus      the small fixed set used by tests/sanitize.sh: 4 mutants
                per format, 1 and 2 ranks       (TENOR_FUZZ_CORPUS=1)
"""
import argparse
import concurrent.futures as cf
import hashlib
import math
import os
import random
import re
import resource
import shutil
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FORMATS = ["mtx", "b", "gamma", "csv", "coloring", "h5samples", "model", "ckpt", "labels", "clamp", "partition"]
# Formats whose mutants each run at one of the rank counts, in turn (the
# seed at all of them), to keep the fuzzer's time; the partition file runs at
# the largest rank count only (its part count is the number of ranks).
ALTERNATE_RANKS = ("labels", "clamp")

# Output that must never appear, whatever the exit status.
NOISE = [
    ("HDF5-DIAG", "HDF5-DIAG"),
    ("PETSC-ERROR", "PETSC ERROR"),
    ("signal", r"Caught signal|exited on signal|[Ss]egmentation fault|SIGSEGV|SIGBUS|SIGFPE|core dumped"),
    ("abort", r"did not happen on every rank|MPI_ABORT|MPI_Abort|Aborted|abort\(\)|MPI_ERRORS_ARE_FATAL"),
    ("libc", r"double free|free\(\): |malloc\(\): |corrupted size|stack smashing"),
    ("sanitizer", r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:"),
]

# ----------------------------------------------------------------------------
# Seed files and the command that reads each format
# ----------------------------------------------------------------------------
NET_N = 4  # lattice side: N = 16 nodes, small and fast
N = NET_N * NET_N
NLAB = 3  # classes of the labels' seed
DATA_SMALL = ["-data_type", "gmrf2d", "-data_samples", "64", "-data_valid_fraction", "0.125"]
TRAIN = ["-net_n", str(NET_N), "-dyn_steps", "2", "-dyn_batch", "8", "-train_steps", "4", "-train_valid_every", "2", "-train_ckpt_every", "2"] + DATA_SMALL
LD = ["-dyn_steps", "2", "-dyn_batch", "4"]


def lattice_mtx():
    """W of an n x n periodic lattice, 4 neighbours and a self-loop, written as scipy would."""
    rows = []
    rnd = random.Random(5)
    for r in range(NET_N):
        for c in range(NET_N):
            i = r * NET_N + c
            for dr, dc in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
                j = ((r + dr) % NET_N) * NET_N + (c + dc) % NET_N
                rows.append((i + 1, j + 1, round(rnd.uniform(-0.4, 0.4), 6)))
    rows = sorted(set((i, j, v) for i, j, v in rows))
    out = ["%%MatrixMarket matrix coordinate real general", "% written by the tenor fuzzer", "%d %d %d" % (N, N, len(rows))]
    out += ["%d %d %.6g" % r for r in rows]
    return ("\n".join(out) + "\n").encode()


def vector_mm(vals):
    return ("%%%%MatrixMarket matrix array real general\n%d 1\n" % len(vals) + "".join("%.17g\n" % v for v in vals)).encode()


def vector_plain(vals):
    return "".join("%.17g\n" % v for v in vals).encode()


MEMLIMIT = 0  # bytes of address space per process (RLIMIT_AS), 0: none


def limit_memory():
    if MEMLIMIT:
        resource.setrlimit(resource.RLIMIT_AS, (MEMLIMIT, MEMLIMIT))


def run(cmd, cwd, timeout, env=None):
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, env=env, preexec_fn=limit_memory)
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        return 124, (e.stdout or b"").decode("utf-8", "replace") + "\n[fuzz: timeout after %ss]\n" % timeout


def mpirun(np_):
    return ["mpirun", "-n", str(np_), "--oversubscribe"]


def make_seeds(tenor, seeddir, formats, timeout, parts):
    """Writes one valid seed file per format; the HDF5 ones and the colouring by tenor itself; the partition into PARTS parts."""
    os.makedirs(seeddir, exist_ok=True)
    seeds = {}
    w = os.path.join(seeddir, "W.mtx")
    with open(w, "wb") as f:
        f.write(lattice_mtx())
    rnd = random.Random(3)
    with open(os.path.join(seeddir, "b.mtx"), "wb") as f:
        f.write(vector_mm([rnd.gauss(0, 0.1) for _ in range(N)]))
    with open(os.path.join(seeddir, "gamma.txt"), "wb") as f:
        f.write(vector_plain([1 + rnd.uniform(-0.2, 0.2) for _ in range(N)]))
    with open(os.path.join(seeddir, "x.csv"), "wb") as f:
        f.write(("# samples, one per row\n" + ",".join("x%d" % i for i in range(N)) + "\n").encode())
        for _ in range(12):
            f.write((",".join("%.17g" % rnd.gauss(0, 1) for _ in range(N)) + "\n").encode())
    # class labels: the last NLAB of the N nodes are the label nodes, so the samples have N - NLAB columns
    with open(os.path.join(seeddir, "xl.csv"), "wb") as f:
        for _ in range(12):
            f.write((",".join("%.17g" % rnd.gauss(0, 1) for _ in range(N - NLAB)) + "\n").encode())
    with open(os.path.join(seeddir, "labels.csv"), "wb") as f:
        f.write(("label\n" + "".join("%d\n" % (s % NLAB) for s in range(12))).encode())
    with open(os.path.join(seeddir, "clamp.txt"), "wb") as f:  # numbers and ranges a-b
        f.write(b"# clamped nodes\n0\n3\n5-7\n%d\n" % (N - 1))
    with open(os.path.join(seeddir, "partition.txt"), "wb") as f:  # one part per node, contiguous blocks
        f.write("".join("%d\n" % (i * parts // N) for i in range(N)).encode())
    seeds.update({"mtx": "W.mtx", "b": "b.mtx", "gamma": "gamma.txt", "csv": "x.csv", "labels": "labels.csv", "clamp": "clamp.txt", "partition": "partition.txt"})
    steps = []
    if "coloring" in formats:
        steps.append(("coloring", mpirun(2) + [tenor, "logdensity", "-net_W", w, "-dyn_scheme", "colored", "-dyn_coloring_out", os.path.join(seeddir, "colors.txt"), "-out_dir", "col.out"] + LD))
    if "h5samples" in formats:
        steps.append(("h5samples", mpirun(2) + [tenor, "sample", "-net_W", w, "-sample_n", "12", "-sample_hdf5", os.path.join(seeddir, "x.h5"), "-out_dir", "sample.out"] + LD))
    if "model" in formats or "ckpt" in formats:
        steps.append(("train", mpirun(2) + [tenor, "train"] + TRAIN + ["-out_dir", "train.out"]))
    for name, cmd in steps:
        rc, out = run(cmd, seeddir, timeout)
        if rc != 0:
            sys.exit("fuzz: making the %s seed failed (exit %d):\n%s\n%s" % (name, rc, " ".join(cmd), out))
    if "coloring" in formats:
        seeds["coloring"] = "colors.txt"
    if "h5samples" in formats:
        seeds["h5samples"] = "x.h5"
    if "model" in formats or "ckpt" in formats:
        shutil.copy(os.path.join(seeddir, "train.out", "model.h5"), os.path.join(seeddir, "model.h5"))
        shutil.copy(os.path.join(seeddir, "train.out", "ckpt.h5"), os.path.join(seeddir, "ckpt.h5"))
        seeds["model"], seeds["ckpt"] = "model.h5", "ckpt.h5"
    return {k: os.path.join(seeddir, v) for k, v in seeds.items()}


def command(fmt, tenor, seeddir, path, outdir):
    """The tenor command (after mpirun) that reads PATH as format FMT, and the files it must write on success."""
    w = os.path.join(seeddir, "W.mtx")
    ld = [tenor, "logdensity", "-out_dir", outdir] + LD
    res = ["logphi.csv", "summary.json"]
    if fmt == "mtx":
        return ld + ["-net_W", path], res
    if fmt == "b":
        return ld + ["-net_W", w, "-net_b", path], res
    if fmt == "gamma":
        return ld + ["-net_W", w, "-net_gamma_file", path], res
    if fmt == "csv":
        return ld + ["-net_W", w, "-data_type", "csv", "-data_file", path], res
    if fmt == "coloring":
        return ld + ["-net_W", w, "-dyn_scheme", "colored", "-dyn_coloring_file", path], res
    if fmt == "h5samples":
        return ld + ["-net_W", w, "-data_type", "hdf5", "-data_file", path], res
    if fmt == "model":
        return [tenor, "logdensity", "-out_dir", outdir, "-model", path, "-dyn_batch", "8"] + DATA_SMALL, res
    if fmt == "labels":
        return ld + ["-net_W", w, "-data_type", "csv", "-data_file", os.path.join(seeddir, "xl.csv"), "-data_labels", path], res
    if fmt == "clamp":
        return ld + ["-net_W", w, "-data_clamp", path], res
    if fmt == "partition":
        return ld + ["-net_W", w, "-partition_file", path], res
    if fmt == "ckpt":  # the checkpoint is read from the output directory
        return [tenor, "train"] + TRAIN[:-len(DATA_SMALL)] + ["-train_steps", "5"] + DATA_SMALL + ["-out_dir", outdir, "-train_restart"], ["model.h5", "train.json", "train_metrics.csv"]
    raise ValueError(fmt)


# ----------------------------------------------------------------------------
# Mutations
# ----------------------------------------------------------------------------
EVIL_NUMBERS = [b"nan", b"NaN", b"-nan", b"inf", b"-inf", b"Infinity", b"1e308", b"1e999", b"-1e999", b"1e-320", b"-1", b"0", b"-0",
                b"2147483647", b"2147483648", b"4294967297", b"9223372036854775808", b"-2147483649", b"99999999999999999999999",
                b"0x1p3", b"1.5", b"", b"+", b"-", b"1e", b".", b"--1", b"1..2", b"1e+", b"1,5", b"1 2", b"1d0"]
NUM_RE = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def m_flip(d, r):
    d = bytearray(d)
    for _ in range(r.randint(1, 4)):
        if d:
            d[r.randrange(len(d))] ^= 1 << r.randrange(8)
    return bytes(d)


def m_byte(d, r):
    d = bytearray(d)
    if d:
        d[r.randrange(len(d))] = r.choice(b"\x00\n\r\t ,;-.+eE%#\xff\x80")
    return bytes(d)


def m_truncate(d, r):
    return d[:r.randrange(len(d))] if d else d


def m_empty(d, r):
    return r.choice([b"", b"\n", b"   \n\n", b"\x00"])


def lines(d):
    return d.split(b"\n")


def m_dup_line(d, r):
    ls = lines(d)
    i = r.randrange(len(ls))
    k = r.choice([1, 1, 2, 50])
    return b"\n".join(ls[:i] + [ls[i]] * (k + 1) + ls[i + 1:])


def m_drop_line(d, r):
    ls = lines(d)
    i = r.randrange(len(ls))
    return b"\n".join(ls[:i] + ls[i + 1:])


def m_swap_lines(d, r):
    ls = lines(d)
    i, j = r.randrange(len(ls)), r.randrange(len(ls))
    ls[i], ls[j] = ls[j], ls[i]
    return b"\n".join(ls)


def m_number(d, r):
    ms = list(NUM_RE.finditer(d))
    if not ms:
        return m_flip(d, r)
    out = d
    for m in sorted(r.sample(ms, min(len(ms), r.choice([1, 1, 1, 3]))), key=lambda m: -m.start()):
        out = out[:m.start()] + r.choice(EVIL_NUMBERS) + out[m.end():]
    return out


def m_header_number(d, r):
    """An evil number in the first non-comment lines (sizes, header), where integers live."""
    ls = lines(d)
    idx = [i for i, l in enumerate(ls[:4]) if l and not l.startswith(b"%") and not l.startswith(b"#")]
    if not idx:
        return m_number(d, r)
    i = r.choice(idx[:2])
    ls[i] = m_number(ls[i], r)
    return b"\n".join(ls)


def m_extra_field(d, r):
    ls = lines(d)
    i = r.randrange(len(ls))
    sep = b"," if b"," in d else b" "
    ls[i] = ls[i] + sep + r.choice([b"1", b"0.5", b"x", b"", b"nan"])
    return b"\n".join(ls)


def m_missing_field(d, r):
    ls = lines(d)
    i = r.randrange(len(ls))
    sep = b"," if b"," in ls[i] else b" "
    parts = ls[i].split(sep)
    ls[i] = sep.join(parts[:-1]) if len(parts) > 1 else b""
    return b"\n".join(ls)


def m_bom(d, r):
    return b"\xef\xbb\xbf" + d


def m_crlf(d, r):
    return d.replace(b"\n", b"\r\n")


def m_no_newline(d, r):
    return d.rstrip(b"\n")


def m_long_line(d, r):
    ls = lines(d)
    i = r.randrange(len(ls))
    kind = r.randrange(4)
    if kind == 0:
        long = b"1" * r.choice([5000, 70000, 1 << 20])  # one huge number
    elif kind == 1:
        long = b" " * 100000 + ls[i]  # leading blanks
    elif kind == 2:
        long = ls[i] + b"0" * 100000  # a number with many digits
    else:
        long = b"%" + b"c" * 200000 if r.random() < 0.5 else b"#" + b"c" * 200000  # a long comment
    ls[i] = long
    return b"\n".join(ls)


def m_whitespace(d, r):
    return r.choice([d.replace(b" ", b"\t"), d.replace(b" ", b"   "), b"\n".join(b"  " + l for l in lines(d)), d.replace(b"\n", b"\n\n")])


def m_banner(d, r):
    """The MatrixMarket banner's words replaced by other (valid or invalid) ones."""
    if not d.startswith(b"%%"):
        return b"%%MatrixMarket matrix coordinate real general\n" + d if r.random() < 0.5 else m_number(d, r)
    words = [b"coordinate", b"array", b"real", b"integer", b"pattern", b"complex", b"general", b"symmetric", b"skew-symmetric", b"hermitian", b"matrix", b"vector", b"MATRIX", b"foo"]
    ls = lines(d)
    parts = ls[0].split(b" ")
    k = r.randrange(len(parts))
    parts[k] = r.choice(words) if k else r.choice([b"%%MatrixMarket", b"%MatrixMarket", b"%%matrixmarket", b"%%MatrixMarke"])
    if r.random() < 0.2:
        parts = parts[:r.randrange(len(parts))]
    ls[0] = b" ".join(parts)
    return b"\n".join(ls)


TEXT_MUTATORS = {
    "flip": m_flip, "byte": m_byte, "truncate": m_truncate, "empty": m_empty, "dup_line": m_dup_line, "drop_line": m_drop_line,
    "swap_lines": m_swap_lines, "number": m_number, "header_number": m_header_number, "extra_field": m_extra_field,
    "missing_field": m_missing_field, "bom": m_bom, "crlf": m_crlf, "no_newline": m_no_newline, "long_line": m_long_line,
    "whitespace": m_whitespace,
}
MM_MUTATORS = dict(TEXT_MUTATORS, banner=m_banner)


class H5Info:
    """What we know of an HDF5 seed without h5py: attribute names and values, dataset names and first values (h5dump)."""

    def __init__(self, path):
        def dump(*args):
            try:
                return subprocess.run(["h5dump", *args, path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30).stdout.decode("utf-8", "replace")
            except (OSError, subprocess.TimeoutExpired):
                return ""
        txt = dump("-m", "%.17g", "-A")
        self.names = sorted(set(re.findall(r'(?:ATTRIBUTE|DATASET) "([^"]+)"', txt)))
        # scalar numeric attributes: (name, type, value)
        self.values = re.findall(r'ATTRIBUTE "([^"]+)"\s*\{\s*DATATYPE\s+(H5T_\w+)\s+DATASPACE\s+SCALAR\s+DATA\s*\{\s*\(0\):\s*([^\n}]+)', txt)
        self.data = []  # datasets: (type, number of values, first two values)
        head = dump("-H")
        for ds, dtype, dims in re.findall(r'DATASET "([^"]+)"\s*\{\s*DATATYPE\s+(H5T_\w+)\s+DATASPACE\s+SIMPLE\s*\{\s*\(([^)]*)\)', head):
            dims = [int(x) for x in dims.split(",")]
            count = [1] * (len(dims) - 1) + [min(2, dims[-1])]
            out = dump("-m", "%.17g", "-d", "/" + ds.lstrip("/"), "-c", ",".join(map(str, count)))
            body = out[out.find("DATA {", out.find("SUBSET")):]
            vals = re.findall(r"(?<=[:,])\s*([-+0-9.eE]+|nan|inf|-inf)(?=\s*[,\n])", body)
            if vals:
                self.data.append((dtype, math.prod(dims), vals[:2]))

    @staticmethod
    def encodings(dtype, value):
        """Byte patterns under which a scalar of that type may be stored."""
        try:
            if "IEEE_F64" in dtype:
                return [struct.pack("<d", float(value))]
            if "IEEE_F32" in dtype:
                return [struct.pack("<f", float(value))]
            if "I64" in dtype or "U64" in dtype:
                return [struct.pack("<q", int(value))]
            if "I32" in dtype or "U32" in dtype:
                return [struct.pack("<i", int(value))]
        except (ValueError, struct.error):
            pass
        return []

    @staticmethod
    def evil(dtype, r):
        if "F64" in dtype:
            return struct.pack("<d", r.choice([math.nan, math.inf, -math.inf, -1.0, 0.0, 1e308, -1e308, 5e-324]))
        if "F32" in dtype:
            return struct.pack("<f", r.choice([math.nan, math.inf, -1.0, 0.0, 3e38]))
        if "64" in dtype:
            return struct.pack("<q", r.choice([-1, 0, 2 ** 31, 2 ** 31 - 1, 2 ** 62, -(2 ** 63), 1 << 40]))
        return struct.pack("<i", r.choice([-1, 0, 2 ** 31 - 1, -(2 ** 31), 1 << 20]))


def h5_mutators(info):
    def m_meta_flip(d, r):  # superblock, object headers, heaps: the first 4 KiB
        d = bytearray(d)
        lim = min(len(d), 4096)
        for _ in range(r.randint(1, 3)):
            d[r.randrange(lim)] ^= 1 << r.randrange(8)
        return bytes(d)

    def m_span(d, r):
        d = bytearray(d)
        a = r.randrange(len(d))
        n = r.choice([4, 8, 16, 64, 512])
        d[a:a + n] = bytes([r.choice([0, 0xff, r.randrange(256)])]) * len(d[a:a + n])
        return bytes(d)

    def m_attr(d, r):
        """Damage near an attribute or dataset name: its datatype, dataspace or value."""
        occ = [m.start() for nm in info.names for m in re.finditer(re.escape(nm.encode()), d)] if info.names else []
        if not occ:
            return m_meta_flip(d, r)
        d = bytearray(d)
        p = r.choice(occ)
        for _ in range(r.randint(1, 3)):
            q = min(len(d) - 1, max(0, p + r.randint(-48, 64)))
            d[q] = r.choice([d[q] ^ (1 << r.randrange(8)), 0, 0xff, r.randrange(256)])
        return bytes(d)

    def m_attr_value(d, r):
        """A stored scalar attribute replaced by NaN/Inf/negative/huge values of its own type."""
        cands = []
        for name, dtype, val in info.values:
            for enc in H5Info.encodings(dtype, val.strip()):
                for m in re.finditer(re.escape(b"\0" + name.encode() + b"\0"), d):  # the value follows its name
                    q = d.find(enc, m.end(), m.end() + 160)
                    if q >= 0:
                        cands.append((q, len(enc), dtype))
        if not cands:
            return m_attr(d, r)
        p, n, dtype = r.choice(cands)
        return d[:p] + H5Info.evil(dtype, r)[:n] + d[p + n:]

    def m_data_value(d, r):
        """Values of a dataset replaced by NaN/Inf/negative/huge (found by its first two values)."""
        cands = []
        for dtype, n, vals in info.data:
            encs = [H5Info.encodings(dtype, v) for v in vals]
            if not all(encs):
                continue
            size = len(encs[0][0])
            for m in re.finditer(re.escape(b"".join(e[0] for e in encs)), d):
                cands.append((m.start(), size, n, dtype))
        if not cands:
            return m_span(d, r)
        p, size, n, dtype = r.choice(cands)
        out = bytearray(d)
        for _ in range(r.choice([1, 1, 3])):
            q = p + size * r.randrange(n)
            out[q:q + size] = H5Info.evil(dtype, r)[:size]
        return bytes(out)

    def m_append(d, r):
        return d + bytes(r.randrange(256) for _ in range(r.choice([1, 100, 4096])))

    return {"flip": m_flip, "meta_flip": m_meta_flip, "truncate": m_truncate, "span": m_span, "attr": m_attr,
            "attr_value": m_attr_value, "data_value": m_data_value, "append": m_append, "empty": m_empty}


# ----------------------------------------------------------------------------
# Checking a run
# ----------------------------------------------------------------------------
FINITE_RE = re.compile(r"(?<![A-Za-z_])(?:[-+]?(?:nan|inf|infinity))(?![A-Za-z_])", re.I)


def check(rc, out, outdir, results):
    """'' if the run kept the contract, else what went wrong: kinds joined by '+'."""
    kinds = [kind for kind, pat in NOISE if re.search(pat, out)]
    nerr = len(re.findall(r"tenor: error:", out))
    if rc == 124:
        kinds.insert(0, "hang")
    elif rc < 0 or rc >= 128:
        kinds.insert(0, "signal")
    elif rc != 0:
        if nerr != 1:
            kinds.append("no-error-line" if nerr == 0 else "error-lines")
        elif re.search(r"^tenor: \(PETSc error", out, re.M):  # an internal error code: the bad input was not recognised as such
            kinds.append("internal-error")
        elif re.search(r"tenor: error: \S*\s*$", out, re.M):  # a bare function name, no message
            kinds.append("bare-error")
    else:
        if nerr:
            kinds.append("exit0-with-error")
        for f in results:
            p = os.path.join(outdir, f)
            if not os.path.isfile(p) or os.path.getsize(p) == 0:
                kinds.append("exit0-missing-output")
                break
            if f.endswith((".csv", ".json")):
                with open(p, "rb") as fh:
                    txt = fh.read().decode("utf-8", "replace")
                if f.endswith(".csv"):
                    txt = "\n".join(txt.split("\n")[1:])  # the header
                if FINITE_RE.search(txt):
                    kinds.append("exit0-nonfinite")
                    break
    return "+".join(kinds)


# ----------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------
def load_known(path):
    known = {}
    if path and os.path.isfile(path):
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    parts = line.split(None, 1)
                    known[parts[0]] = parts[1] if len(parts) > 1 else ""
    return known


def is_known(known, fmt, cls, kind):
    """Entries are FORMAT:CLASS or FORMAT:CLASS:KINDS (the failure's kinds must be among KINDS, joined by +), * for any."""
    for key in known:
        p = key.split(":")
        if len(p) < 2:
            continue
        if p[0] in ("*", fmt) and p[1] in ("*", cls) and (len(p) < 3 or p[2] == "*" or set(kind.split("+")) <= set(p[2].split("+"))):
            return key
    return None


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tenor")
    ap.add_argument("workdir")
    ap.add_argument("--mutants", type=int, default=int(env("TENOR_FUZZ_MUTANTS", "12")))
    ap.add_argument("--seed", type=int, default=int(env("TENOR_FUZZ_SEED", "1")))
    ap.add_argument("--ranks", default=env("TENOR_FUZZ_RANKS", "1,3"))
    ap.add_argument("--formats", default=env("TENOR_FUZZ_FORMATS", ",".join(FORMATS)))
    ap.add_argument("--jobs", type=int, default=int(env("TENOR_FUZZ_JOBS", "2")))
    ap.add_argument("--timeout", type=float, default=float(env("TENOR_FUZZ_TIMEOUT", "60")))
    ap.add_argument("--known", default=env("TENOR_FUZZ_KNOWN", os.path.join(HERE, "known_failures.txt")))
    ap.add_argument("--memlimit", type=float, default=float(env("TENOR_FUZZ_MEMLIMIT", "4")),
                    help="GiB of address space per process (0: none; off under AddressSanitizer)")
    ap.add_argument("--corpus", action="store_true", default=env("TENOR_FUZZ_CORPUS", "0") == "1")
    a = ap.parse_args()
    if a.corpus:
        a.mutants, a.ranks = 4, "1,2"
    tenor = os.path.abspath(a.tenor)
    global MEMLIMIT
    # a mutated size must not take the machine's memory; ASan reserves terabytes of address space
    asan = b"libasan" in subprocess.run(["ldd", tenor], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    MEMLIMIT = 0 if asan else int(a.memlimit * 2 ** 30)
    formats = [f for f in a.formats.split(",") if f]
    for f in formats:
        if f not in FORMATS:
            sys.exit("fuzz: unknown format %s (one of %s)" % (f, ",".join(FORMATS)))
    ranks = [int(x) for x in a.ranks.split(",")]
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    t0 = time.time()
    seeddir = os.path.join(work, "seeds")
    seeds = make_seeds(tenor, seeddir, formats, max(a.timeout, 120), max(ranks))
    print("fuzz: seeds written in %.1f s; %d mutants x %d format(s) x ranks %s, seed %d" % (time.time() - t0, a.mutants, len(formats), a.ranks, a.seed), flush=True)

    # The mutants, all drawn before any run, so the set depends on the seed only.
    jobs, seen = [], set()
    for fmt in formats:
        with open(seeds[fmt], "rb") as f:
            orig = f.read()
        muts = h5_mutators(H5Info(seeds[fmt])) if fmt in ("h5samples", "model", "ckpt") else (MM_MUTATORS if fmt in ("mtx", "b") else TEXT_MUTATORS)
        names = sorted(muts)
        if a.corpus:  # the classes that reach deepest, one mutant each
            names = ["truncate", "attr", "data_value", "meta_flip"] if "attr" in muts else ["number", "header_number", "long_line", "truncate"]
        for i in range(-1, a.mutants if a.corpus else max(a.mutants, len(names))):  # -1: the seed itself, which must be read (exit 0)
            r = random.Random("%d:%s:%d" % (a.seed, fmt, i))
            cls = "seed" if i < 0 else names[i % len(names)] if i < len(names) else r.choice(names)  # every class at least once
            data = orig if i < 0 else muts[cls](orig, r)
            h = hashlib.sha1(fmt.encode() + data).hexdigest()
            if h in seen:
                continue
            seen.add(h)
            mdir = os.path.join(work, "m", "%s-%03d-%s" % (fmt, max(i, 0), cls) if i >= 0 else "%s-seed" % fmt)
            os.makedirs(mdir)
            base = os.path.basename(seeds[fmt])
            path = os.path.join(mdir, "ckpt.h5" if fmt == "ckpt" else base)
            with open(path, "wb") as f:
                f.write(data)
            if fmt == "partition":
                runs = [max(ranks)]
            elif fmt in ALTERNATE_RANKS and i >= 0:
                runs = [ranks[i % len(ranks)]]
            else:
                runs = ranks
            for np_ in runs:
                jobs.append((fmt, i, cls, np_, mdir, path))

    def one(job):
        fmt, i, cls, np_, mdir, path = job
        outdir = os.path.join(mdir, "out%d" % np_)
        if fmt == "ckpt":
            os.makedirs(outdir, exist_ok=True)
            shutil.copy(path, os.path.join(outdir, "ckpt.h5"))
        cmd, results = command(fmt, tenor, seeddir, path, outdir)
        cmd = mpirun(np_) + cmd
        t = time.time()
        rc, out = run(cmd, mdir, a.timeout)
        with open(os.path.join(mdir, "output%d.txt" % np_), "w") as f:
            f.write("$ %s\nexit %d\n%s" % (" ".join(cmd), rc, out))
        kind = check(rc, out, outdir, results)
        if cls == "seed" and rc != 0:
            kind = (kind + "+" if kind else "") + "seed-rejected"
        return job, cmd, rc, out, kind, time.time() - t

    failures, expected, kinds = [], [], {}
    known = load_known(a.known)
    fdir = os.path.join(work, "failures")
    with cf.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        for job, cmd, rc, out, kind, dt in ex.map(one, jobs):
            fmt, i, cls, np_, mdir, path = job
            if not kind:
                kinds["ok-exit0" if rc == 0 else "ok-error"] = kinds.get("ok-exit0" if rc == 0 else "ok-error", 0) + 1
                continue
            ls = out.splitlines()
            first = ([l for l in ls if "tenor: error" in l] or [l for l in ls if re.search("|".join(p for _, p in NOISE), l)] or ls[-1:] or [""])[0][:200]
            entry = (fmt, cls, kind, i, np_, cmd, rc, first, path)
            key = is_known(known, fmt, cls, kind)
            print("%s %s-%03d-%s np%d: %s, exit %d: %s" % ("known" if key else "FAIL ", fmt, i, cls, np_, kind, rc, first), flush=True)
            (expected if key else failures).append(entry)
            # keep the mutant and the command that reproduces it
            keep = os.path.join(fdir, "%s-%03d-%s-np%d" % (fmt, i, cls, np_))
            os.makedirs(keep, exist_ok=True)
            shutil.copy(path, keep)
            kpath = os.path.join(keep, os.path.basename(path))
            c = [x if x != path else kpath for x in cmd]
            if fmt == "ckpt":
                c = [x if not x.startswith(os.path.join(mdir, "out")) else os.path.join(keep, "out") for x in c]
            with open(os.path.join(keep, "cmd.sh"), "w") as f:
                f.write("#!/bin/bash\n# %s mutant %d (%s) at %d rank(s): %s, exit %d\n" % (fmt, i, cls, np_, kind, rc))
                f.write("export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1\n")
                if fmt == "ckpt":
                    f.write("rm -rf %s/out && mkdir -p %s/out && cp %s %s/out/ckpt.h5\n" % (keep, keep, kpath, keep))
                f.write(" ".join(c) + "\n")
            with open(os.path.join(keep, "output.txt"), "w") as f:
                f.write(out)

    def report(title, entries):
        lines_ = ["%s: %d" % (title, len(entries))]
        groups = {}
        for e in entries:
            groups.setdefault((e[0], e[1], e[2]), []).append(e)
        for (fmt, cls, kind), es in sorted(groups.items()):
            e = es[0]
            lines_.append("  %-10s %-14s %-28s x%-3d e.g. %s-%03d-%s-np%d: %s" % (fmt, cls, kind, len(es), fmt, e[3], cls, e[4], e[7]))
        return lines_

    nruns = len(jobs)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = ["fuzz: %d runs (%d mutants) in %.1f s wall, %.1f s CPU: %s" % (nruns, len(seen), time.time() - t0, ru.ru_utime + ru.ru_stime, ", ".join("%s %d" % kv for kv in sorted(kinds.items())))]
    summary += report("unexpected failures", failures)
    summary += report("expected failures (known_failures.txt)", expected)
    summary.append("failing mutants and their command lines: %s" % fdir)
    with open(os.path.join(work, "summary.txt"), "w") as f:
        f.write("\n".join(summary) + "\n")
    print("\n".join(summary))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
