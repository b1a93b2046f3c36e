#!/usr/bin/python3
"""Held-out bits/dim of the 8 x 8 digits (tools/digits/export.py): tenor's
trained p(x) against a factorised Gaussian, a full-covariance Gaussian and a
shrinkage (Ledoit-Wolf) Gaussian fitted here, on the same split and the same
preprocessing. Writes one table, density.md and density.json (with every
command that was run), in OUT_DIR.

usage: /usr/bin/python3 tools/digits/density.py [--tenor build/tenor] [--data out/digits]
           [--out out/digits/density] [--ranks 1] [--nets NAME,NAME,...] [--epochs E]

Preprocessing, the same for every row: the integer pixels x (0..16) of the
export are dequantised once, y = x + u with u ~ U(0,1)^64 drawn from
numpy.random.RandomState(DEQUANT_SEED = 1) (train first, then test), and
written to y_train.csv and y_test.csv in OUT_DIR. Every figure is the mean
-log p(y) over the 360 test images, in nats and in bits/dim = nats / (64 ln 2),
for the density of y on the original 0..17 scale: tenor trains on
standardised y (-data_standardize, statistics of the training images) and
reports -log p_y(y) = -log Phi(z) + sum_i log sd_i (docs/data.md); the
Gaussians are fitted to y directly. By Jensen, E_u[-log p(x + u)] >= -log P(x)
for the discrete P(x) = int p(x + u) du, so each figure is also an upper bound
on the code length of the integer images.

--nets chooses tenor's networks from NETS below (default: all); --epochs
overrides their training epochs (a quick check: --epochs 1).

Samples: the tenor network with the lowest test loss draws 64 images
(tenor sample -model, -sample_seed 1, in the data's own space), drawn as an
8 x 8 grid beside 64 test images in samples.png (clipped to 0..17, dark =
ink; needs python3-matplotlib; --no-png leaves it out).
"""
import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export  # noqa: E402

DEQUANT_SEED = export.DEQUANT_SEED
N = export.N_PIXELS

# tenor's networks: name -> (description, options of tenor train). Every one
# trains on the standardised dequantised images with 12.5% of the training
# images held out for keep-best (train's default -data_valid_fraction).
NETS = {
    "full-linear": (
        "all-to-all W (64 x 64), colored (one node per colour), linear, K = 1",
        "-net_type full -net_n 64 -dyn_scheme colored -dyn_act linear -dyn_h 0.5 -dyn_steps 1 -train_epochs 60 -train_lr 0.02",
    ),
    "lattice-r2-linear": (
        "8 x 8 periodic lattice, radius 2 (13 synapses per node), colored, linear, K = 1",
        "-net_type lattice2d -net_n 8 -net_radius 2 -dyn_scheme colored -dyn_act linear -dyn_h 0.5 -dyn_steps 1 -train_epochs 60 -train_lr 0.02",
    ),
    "lattice-r2-tanh-K4": (
        "8 x 8 periodic lattice, radius 2, colored, tanh, K = 4",
        "-net_type lattice2d -net_n 8 -net_radius 2 -dyn_scheme colored -dyn_act tanh -dyn_h 0.5 -dyn_steps 4 -train_epochs 60 -train_lr 0.01",
    ),
    "lattice-r3-tanh-K4": (
        "8 x 8 periodic lattice, radius 3 (29 synapses per node), colored, tanh, K = 4",
        "-net_type lattice2d -net_n 8 -net_radius 3 -dyn_scheme colored -dyn_act tanh -dyn_h 0.5 -dyn_steps 4 -train_epochs 100 -train_lr 0.02",
    ),
    "full-tanh-K4": (
        "all-to-all W, colored, tanh, K = 4",
        "-net_type full -net_n 64 -dyn_scheme colored -dyn_act tanh -dyn_h 0.5 -dyn_steps 4 -train_epochs 100 -train_lr 0.02",
    ),
}


def fail(msg, code=1):
    sys.stderr.write(f"digits: error: {msg}\n")
    sys.exit(code)


def gauss_nll(np, y, mu, cov):
    """mean over rows of -log N(y; mu, cov), nats."""
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        fail("a fitted covariance is not positive definite")
    d = y - mu
    q = np.einsum("ij,ij->i", d, np.linalg.solve(cov, d.T).T)
    return float(np.mean(0.5 * q + 0.5 * logdet + 0.5 * y.shape[1] * math.log(2 * math.pi)))


def baselines(np, ytr, yte):
    """rows (name, description, train nats, test nats) of the Gaussians
    fitted to ytr by maximum likelihood (divisor n) or Ledoit-Wolf."""
    from sklearn.covariance import LedoitWolf

    mu = ytr.mean(axis=0)
    var = ytr.var(axis=0)
    full = np.cov(ytr, rowvar=False, bias=True)
    lw = LedoitWolf().fit(ytr)
    rows = []
    for name, desc, cov in (
        ("factorised Gaussian", "per-pixel mean and variance (ML)", np.diag(var)),
        ("full-covariance Gaussian", "mean and 64 x 64 covariance (ML, divisor n)", full),
        ("shrinkage Gaussian", f"Ledoit-Wolf covariance (shrinkage {lw.shrinkage_:.4f})", lw.covariance_),
    ):
        rows.append({"model": name, "description": desc, "train_nats": gauss_nll(np, ytr, mu, cov), "test_nats": gauss_nll(np, yte, mu, cov)})
    return rows


def run(cmd, log, env=None):
    """run cmd (a list), output to log (a symlink there is replaced, not
    written through); exit naming the command if it fails."""
    if os.path.islink(log):
        os.unlink(log)
    with os.fdopen(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644), "w") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
    if r.returncode != 0:
        tail = open(log).read().splitlines()[-8:]
        fail(f"this command failed (exit {r.returncode}; output in {log}):\n  {shlex.join(cmd)}\n" + "\n".join("  | " + t for t in tail))


def grid_png(np, path, left, right, ltitle, rtitle):
    """two 8 x 8 grids of 8 x 8 images (rows of 64 values), side by side."""
    matplotlib = export.need("matplotlib", "python3-matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 4.4))
    for ax, imgs, title in zip(axes, (left, right), (ltitle, rtitle)):
        big = np.full((8 * 9 - 1, 8 * 9 - 1), 6.0)  # grey between the images
        for k, im in enumerate(imgs[:64]):
            r, c = divmod(k, 8)
            big[9 * r : 9 * r + 8, 9 * c : 9 * c + 8] = np.clip(im, 0, 17).reshape(8, 8)
        ax.imshow(big, cmap="gray_r", vmin=0, vmax=17, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    export.atomic_write(path, lambda t: fig.savefig(t, dpi=100, format="png"))
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tenor", default="build/tenor")
    ap.add_argument("--data", default="out/digits", help="the export's folder (exported there if missing)")
    ap.add_argument("--out", default="out/digits/density")
    ap.add_argument("--ranks", type=int, default=1, help="MPI ranks of tenor (1: N = 64 is too small to gain from more)")
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--epochs", type=int, default=0, help="override every network's epochs (0: their own)")
    ap.add_argument("--no-png", action="store_true", help="no samples.png")
    a = ap.parse_args()
    np = export.need("numpy", "python3-numpy")
    export.need("sklearn", "python3-sklearn")
    nets = [n for n in a.nets.split(",") if n]
    for n in nets:
        if n not in NETS:
            fail(f"unknown network {n!r} in --nets: choose from {', '.join(NETS)}")
    if a.ranks < 1 or a.epochs < 0:
        fail("--ranks must be >= 1 and --epochs >= 0")
    if not os.access(a.tenor, os.X_OK):
        fail(f"{a.tenor} is not an executable tenor: build it (cmake --build build) or pass --tenor PATH")
    tenor = os.path.abspath(a.tenor)

    commands = []
    xfile = {p: os.path.join(a.data, f"digits_{p}.csv") for p in ("train", "test")}
    if not all(os.path.exists(f) for f in xfile.values()):
        cmd = ["/usr/bin/python3", os.path.join(HERE, "export.py"), a.data]
        commands.append(shlex.join(cmd))
        os.makedirs(a.out, exist_ok=True)
        run(cmd, os.path.join(a.out, "export.log"))
    os.makedirs(a.out, exist_ok=True)
    xtr, _, xte, _ = export.read_split(np, a.data)
    y = dict(zip(("train", "test"), export.dequantize(np, xtr, xte)))
    yfile = {p: os.path.join(a.out, f"y_{p}.csv") for p in y}
    for p in y:
        export.write_csv(yfile[p], y[p], "%.17g")

    rows = baselines(np, y["train"], y["test"])
    for r in rows:
        r["command"] = "tools/digits/density.py (numpy, sklearn.covariance.LedoitWolf)"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    mpi = ["mpirun", "-n", str(a.ranks)] + (["--oversubscribe"] if a.ranks > (os.cpu_count() or 1) else [])
    for name in nets:
        desc, opts = NETS[name]
        opts = shlex.split(opts)
        if a.epochs:
            opts[opts.index("-train_epochs") + 1] = str(a.epochs)
        d = os.path.join(a.out, name)
        train = mpi + [tenor, "train", "-data_file", yfile["train"], "-data_standardize"] + opts + ["-out_dir", d]
        test = mpi + [tenor, "logdensity", "-model", os.path.join(d, "model.h5"), "-data_file", yfile["test"], "-out_dir", os.path.join(d, "test")]
        t0 = time.time()
        for cmd, log in ((train, os.path.join(a.out, f"{name}.train.log")), (test, os.path.join(a.out, f"{name}.test.log"))):
            print(f"running: {shlex.join(cmd)}", flush=True)
            run(cmd, log, env)
        wall = time.time() - t0
        tj = json.load(open(os.path.join(d, "train.json")))
        sj = json.load(open(os.path.join(d, "test", "summary.json")))
        fin = tj.get("final", {})
        rows.append(
            {
                "model": f"tenor {name}",
                "description": desc,
                "train_nats": fin.get("all_loss"),  # all 1437 training images, as the baselines'
                "test_nats": sj["loss_nats_mean"],
                "synapses": tj.get("network", {}).get("nnz"),
                "wall_s": round(wall, 1),
                "command": shlex.join(train[:3] + ["build/tenor"] + train[4:]) + " && " + shlex.join(test[:3] + ["build/tenor"] + test[4:]),
            }
        )
        if abs(sj["bits_per_dim"] - sj["loss_nats_mean"] / (N * math.log(2))) > 1e-9 * abs(sj["bits_per_dim"]):
            fail(f"{d}/test/summary.json: bits_per_dim is not loss_nats_mean / (N ln 2)")
    tenor_rows = [r for r in rows if r["model"].startswith("tenor")]
    sample_cmd = []
    if tenor_rows:
        best = min(tenor_rows, key=lambda r: r["test_nats"])["model"][len("tenor ") :]
        d = os.path.join(a.out, best)
        cmd = mpi + [tenor, "sample", "-model", os.path.join(d, "model.h5"), "-sample_n", "64", "-sample_seed", "1", "-out_dir", os.path.join(d, "samples")]
        print(f"running: {shlex.join(cmd)}", flush=True)
        run(cmd, os.path.join(a.out, f"{best}.sample.log"), env)
        sample_cmd = [shlex.join(cmd[:3] + ["build/tenor"] + cmd[4:])]
        if not a.no_png:
            xs = np.loadtxt(os.path.join(d, "samples", "samples.csv"), delimiter=",", skiprows=1, ndmin=2)
            grid_png(np, os.path.join(a.out, "samples.png"), xs, y["test"][:64], f"tenor {best}: 64 samples", "64 test images (dequantised)")
    for r in rows:
        for k in ("train", "test"):
            v = r[f"{k}_nats"]
            r[f"{k}_bits_per_dim"] = None if v is None else v / (N * math.log(2))

    table = ["| model | test nats | test bits/dim | train bits/dim (all 1437) | what |", "|---|---|---|---|---|"]
    for r in rows:
        tr = "" if r["train_bits_per_dim"] is None else f"{r['train_bits_per_dim']:.4f}"
        table.append(f"| {r['model']} | {r['test_nats']:.2f} | {r['test_bits_per_dim']:.4f} | {tr} | {r['description']} |")
    md = "\n".join(table) + "\n"
    md += f"\n{len(y['test'])} test images, {len(y['train'])} training images; dequantised y = x + u (seed {DEQUANT_SEED}), bits/dim of y on the 0..17 scale.\n"
    md += "\nCommands:\n\n" + "".join(f"- `{c}`\n" for c in [r["command"] for r in tenor_rows] + sample_cmd)
    meta = {
        "data": os.path.abspath(a.data),
        "train": len(y["train"]),
        "test": len(y["test"]),
        "dequantize_seed": DEQUANT_SEED,
        "units": "mean -log p(y) over the test images; bits/dim = nats / (64 ln 2); y = x + u on the 0..17 scale",
        "ranks": a.ranks,
        "commands": commands + [r["command"] for r in tenor_rows] + sample_cmd,
        "rows": rows,
    }
    export.atomic_write(os.path.join(a.out, "density.md"), lambda t: open(t, "w").write(md))
    export.atomic_write(os.path.join(a.out, "density.json"), lambda t: open(t, "w").write(json.dumps(meta, indent=1) + "\n"))
    print(md)
    print(f"wrote {a.out}/density.md, {a.out}/density.json")


if __name__ == "__main__":
    main()
