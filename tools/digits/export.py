#!/usr/bin/python3
"""Export the 8 x 8 handwritten digits that Debian's python3-sklearn bundles
(sklearn.datasets.load_digits: 1797 images, 64 pixels with values 0..16,
10 classes) to CSV and HDF5 files that tenor reads, with a fixed train/test
split. Nothing is downloaded: the images are read from the installed package.

usage: /usr/bin/python3 tools/digits/export.py [OUT_DIR]      (default out/digits)

Split: the permutation numpy.random.RandomState(SPLIT_SEED = 0).permutation(1797)
of sklearn's image order; its first 1437 images are the training set and its
last 360 the test set, each kept in permutation order.

Node order: pixel (row r, column c) of an image is node 8 r + c (row-major,
as tenor's lattice2d numbers an 8 x 8 lattice).

Files written in OUT_DIR (each through a temporary file and a rename, so a
file is either complete or absent, and never written through a symlink):
  digits_train.csv, digits_test.csv     header p0..p63, one image per row,
                                        the integer pixel values 0..16
  digits_train_labels.csv, ..._test_... header `label`, one integer 0..9 per row
  digits_train.h5, digits_test.h5       /x (float64, images x 64), /label
                                        (int32), /index (int32: the image's row
                                        in sklearn's order)
  digits.json                           the sizes, the split's rule and seed
"""
import json
import os
import sys

SPLIT_SEED = 0
DEQUANT_SEED = 1
N_TRAIN = 1437
N_PIXELS = 64
N_CLASSES = 10


def need(module, package):
    """Import a Debian-packaged module, or exit 77 (the tests' skip code)
    naming the package to install."""
    try:
        return __import__(module)
    except ImportError:
        sys.stderr.write(
            f"digits: error: the Python module {module} is missing: install Debian's {package}\n"
            f"  (apt-get install -y {package}, or bash tools/setup.sh --digits) and run this script\n"
            f"  with /usr/bin/python3 (Debian's Python, which sees Debian's packages)\n"
        )
        sys.exit(77)


def atomic_write(path, write):
    """write(tmp_path) then rename onto path: never a partial file, and a
    symlink at path is replaced, not written through."""
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def load_split():
    """(x_train, y_train, i_train, x_test, y_test, i_test) of the fixed split."""
    np = need("numpy", "python3-numpy")
    need("sklearn", "python3-sklearn")
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.data, d.target
    assert x.shape == (1797, N_PIXELS), x.shape
    perm = np.random.RandomState(SPLIT_SEED).permutation(x.shape[0])
    tr, te = perm[:N_TRAIN], perm[N_TRAIN:]
    return x[tr], y[tr], tr, x[te], y[te], te


def dequantize(np, x_train, x_test):
    """The one dequantisation the comparisons share: y = x + u, u ~ U(0,1)
    from numpy.random.RandomState(DEQUANT_SEED), the training images' noise
    drawn first."""
    rng = np.random.RandomState(DEQUANT_SEED)
    y_train = x_train + rng.uniform(size=x_train.shape)
    return y_train, x_test + rng.uniform(size=x_test.shape)


def read_split(np, folder):
    """(x_train, labels_train, x_test, labels_test) from the CSV files of an
    export, checked against the split's sizes; exits naming what is wrong."""
    out = []
    for p, n in (("train", N_TRAIN), ("test", 1797 - N_TRAIN)):
        f, fl = os.path.join(folder, f"digits_{p}.csv"), os.path.join(folder, f"digits_{p}_labels.csv")
        try:
            x = np.loadtxt(f, delimiter=",", skiprows=1, ndmin=2)
            lab = np.loadtxt(fl, delimiter=",", skiprows=1, ndmin=1).astype(int)
        except (OSError, ValueError) as e:
            sys.exit(f"digits: error: cannot read the export in {folder} ({e}): run /usr/bin/python3 tools/digits/export.py {folder}")
        if x.shape != (n, N_PIXELS) or x.min() < 0 or x.max() > 16 or lab.shape != (n,) or lab.min() < 0 or lab.max() >= N_CLASSES:
            sys.exit(f"digits: error: {f} and {fl} are not the export's {n} images of {N_PIXELS} pixels in 0..16 with labels 0..9: export again with tools/digits/export.py {folder}")
        out += [x, lab]
    return tuple(out)


def write_csv(path, x, fmt):
    np = need("numpy", "python3-numpy")
    header = ",".join(f"p{i}" for i in range(x.shape[1]))
    atomic_write(path, lambda t: np.savetxt(t, x, fmt=fmt, delimiter=",", header=header, comments=""))


def write_labels(path, y):
    atomic_write(path, lambda t: open(t, "w").write("label\n" + "".join(f"{int(v)}\n" for v in y)))


def write_h5(path, x, y, idx):
    np = need("numpy", "python3-numpy")
    h5py = need("h5py", "python3-h5py")

    def w(t):
        with h5py.File(t, "w") as f:
            f.create_dataset("x", data=np.asarray(x, dtype=np.float64))
            f.create_dataset("label", data=np.asarray(y, dtype=np.int32))
            f.create_dataset("index", data=np.asarray(idx, dtype=np.int32))
            f.attrs["source"] = "sklearn.datasets.load_digits (Debian python3-sklearn)"
            f.attrs["node_order"] = "pixel (r, c) is node 8 r + c"

    atomic_write(path, w)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "out/digits"
    if len(sys.argv) > 2 or out.startswith("-"):
        sys.exit(__doc__)
    xtr, ytr, itr, xte, yte, ite = load_split()
    os.makedirs(out, exist_ok=True)
    for name, x, y, idx in (("train", xtr, ytr, itr), ("test", xte, yte, ite)):
        write_csv(os.path.join(out, f"digits_{name}.csv"), x, "%d")
        write_labels(os.path.join(out, f"digits_{name}_labels.csv"), y)
        write_h5(os.path.join(out, f"digits_{name}.h5"), x, y, idx)
    meta = {
        "source": "sklearn.datasets.load_digits (Debian python3-sklearn)",
        "images": int(len(ytr) + len(yte)),
        "pixels": N_PIXELS,
        "classes": N_CLASSES,
        "pixel_values": [0, 16],
        "node_order": "pixel (r, c) is node 8 r + c",
        "split": f"numpy.random.RandomState({SPLIT_SEED}).permutation(1797): first {N_TRAIN} train, last {len(yte)} test",
        "train": int(len(ytr)),
        "test": int(len(yte)),
        "train_class_counts": [int((ytr == c).sum()) for c in range(N_CLASSES)],
        "test_class_counts": [int((yte == c).sum()) for c in range(N_CLASSES)],
    }
    atomic_write(os.path.join(out, "digits.json"), lambda t: open(t, "w").write(json.dumps(meta, indent=1) + "\n"))
    print(f"digits: {meta['images']} images of {N_PIXELS} pixels: {meta['train']} train, {meta['test']} test ({meta['split']})")
    print(f"wrote {out}/digits_{{train,test}}.csv, digits_{{train,test}}_labels.csv, digits_{{train,test}}.h5, digits.json")


if __name__ == "__main__":
    main()
