#!/usr/bin/python3
"""tenor's generative classifier on the 8 x 8 digits beside the baselines of
classify.py, on the same split and the same dequantised images y = x + u.

usage: /usr/bin/python3 tools/digits/classify_tenor.py [--tenor build/tenor]
           [--data out/digits] [--out out/digits/classify_tenor]
           [--nets full-linear,perclass-lattice-r3-tanh-K4] [--epochs E] [--no-png] [--no-baselines]

For each network of --nets: `tenor train -data_labels` on the 1437
training images (the 10 label nodes 64..73 clamped one-hot by tenor, the
pixels standardised, 12.5% held out for keep-best), or for a perclass-*
network ten trainings, `-data_class c` (one model of p(y | c) per class, on
class c's images alone), then `tenor predict` on the 360 test images: p(c | y) = pi_c p(y | c) / sum_c' pi_c' p(y | c'), its
test accuracy and mean log-loss -ln p(label | y) in nats. The table
(classify_tenor.md, classify_tenor.json) holds the per-class Gaussian and
the logistic regression of classify.py and one row per network.
classes.png: for the network with the lowest test log-loss, 10 images
sampled from p(y | c) for each class c (`tenor sample -model -sample_given`
with the label nodes set to e_c, or class c's own model), clipped to 0..17, one row per class,
beside 10 test images of each class (needs python3-matplotlib).
"""
import argparse
import json
import os
import shlex
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export  # noqa: E402
import classify  # noqa: E402
from density import fail, run  # noqa: E402

D, C = export.N_PIXELS, export.N_CLASSES
COMMON = f"-net_type full -net_n {D + C} -dyn_scheme colored -data_standardize"
PERCLASS = "-dyn_scheme colored -data_standardize -dyn_batch 16"
# name: (description, per-class models?, options)
NETS = {
    "full-linear": ("all-to-all W (74 nodes), linear, K = 1: Gaussians with one covariance and a mean per class", False, "-dyn_act linear -dyn_h 0.5 -dyn_steps 1 -train_epochs 30 -train_lr 0.02"),
    "full-linear-60": ("the same, 60 epochs at lr 0.01", False, "-dyn_act linear -dyn_h 0.5 -dyn_steps 1 -train_epochs 60 -train_lr 0.01"),
    "full-tanh-K4": ("all-to-all, tanh (rate form), K = 4", False, "-dyn_act tanh -dyn_h 0.5 -dyn_steps 4 -train_epochs 100 -train_lr 0.02"),
    "full-tanh-current-K4": ("all-to-all, tanh (current form: the label shifts every node's gain), K = 4", False, "-dyn_act tanh -dyn_form current -dyn_h 0.5 -dyn_steps 4 -train_epochs 60 -train_lr 0.02"),
    "full-tanh-current-K8": ("all-to-all, tanh (current form), K = 8, h = 0.25", False, "-dyn_act tanh -dyn_form current -dyn_h 0.25 -dyn_steps 8 -train_epochs 60 -train_lr 0.01"),
    "perclass-full-linear": ("one model per class: all-to-all (64 nodes), linear, K = 1", True, "-net_type full -net_n 64 -dyn_act linear -dyn_h 0.5 -dyn_steps 1 -train_epochs 60 -train_lr 0.02"),
    "perclass-lattice-r2-tanh-K4": ("one model per class: 8 x 8 lattice, radius 2, tanh, K = 4", True, "-net_type lattice2d -net_n 8 -net_radius 2 -dyn_act tanh -dyn_h 0.5 -dyn_steps 4 -train_epochs 100 -train_lr 0.01"),
    "perclass-lattice-r3-tanh-K4": ("one model per class: 8 x 8 lattice, radius 3, tanh, K = 4", True, "-net_type lattice2d -net_n 8 -net_radius 3 -dyn_act tanh -dyn_h 0.5 -dyn_steps 4 -train_epochs 100 -train_lr 0.02"),
}


def class_grid_png(np, path, rows_left, rows_right, ltitle, rtitle):
    """two grids of 10 rows (classes) x 10 images of 8 x 8 pixels."""
    matplotlib = export.need("matplotlib", "python3-matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 4.4))
    for ax, rows, title in zip(axes, (rows_left, rows_right), (ltitle, rtitle)):
        big = np.full((C * 9 - 1, 10 * 9 - 1), 6.0)  # grey between the images
        for r, imgs in enumerate(rows):
            for k, im in enumerate(imgs[:10]):
                big[9 * r : 9 * r + 8, 9 * k : 9 * k + 8] = np.clip(im, 0, 17).reshape(8, 8)
        ax.imshow(big, cmap="gray_r", vmin=0, vmax=17, interpolation="nearest")
        ax.set_yticks([9 * r + 3.5 for r in range(C)], [str(r) for r in range(C)], fontsize=7)
        ax.set_xticks([])
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    export.atomic_write(path, lambda t: fig.savefig(t, dpi=100, format="png"))
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tenor", default="build/tenor")
    ap.add_argument("--data", default="out/digits", help="the export's folder (exported there if missing)")
    ap.add_argument("--out", default="out/digits/classify_tenor")
    ap.add_argument("--nets", default="full-linear,perclass-lattice-r3-tanh-K4", help=f"comma-separated, of {', '.join(NETS)}")
    ap.add_argument("--epochs", type=int, default=0, help="override every network's epochs (0: their own)")
    ap.add_argument("--no-png", action="store_true", help="no classes.png")
    ap.add_argument("--no-baselines", action="store_true", help="tenor's rows only (classify.py has the baselines)")
    a = ap.parse_args()
    np = export.need("numpy", "python3-numpy")
    export.need("sklearn", "python3-sklearn")
    nets = [n for n in a.nets.split(",") if n]
    for n in nets:
        if n not in NETS:
            fail(f"unknown network {n!r} in --nets: choose from {', '.join(NETS)}")
    if a.epochs < 0:
        fail("--epochs must be >= 0")
    if not os.access(a.tenor, os.X_OK):
        fail(f"{a.tenor} is not an executable tenor: build it (cmake --build build) or pass --tenor PATH")
    tenor = os.path.abspath(a.tenor)
    os.makedirs(a.out, exist_ok=True)
    if not os.path.exists(os.path.join(a.data, "digits_train.csv")):
        run(["/usr/bin/python3", os.path.join(HERE, "export.py"), a.data], os.path.join(a.out, "export.log"))
    xtr, ltr, xte, lte = export.read_split(np, a.data)
    ytr, yte = export.dequantize(np, xtr, xte)
    files = {}
    for p, y, lab in (("train", ytr, ltr), ("test", yte, lte)):
        files[p] = (os.path.join(a.out, f"y_{p}.csv"), os.path.join(a.out, f"labels_{p}.csv"))
        export.write_csv(files[p][0], y, "%.17g")
        export.write_labels(files[p][1], lab)

    rows = []
    if not a.no_baselines:
        lp = classify.gaussian_classifier(np, ytr, ltr, yte)
        rows.append({"model": "per-class Gaussian", "description": "Ledoit-Wolf covariance per class (classify.py)", "lp": lp})
        lp, Creg = classify.logistic(np, ytr, ltr, yte)
        rows.append({"model": "multinomial logistic regression", "description": f"C = {Creg:.4g} by 5-fold CV log-loss (classify.py)", "lp": lp})
    for r in rows:
        r["test_accuracy"] = float(np.mean(r["lp"].argmax(axis=1) == lte))
        r["test_log_loss_nats"] = float(-np.mean(r.pop("lp")[np.arange(len(lte)), lte]))

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    mpi = ["mpirun", "-n", "1"]
    show = lambda cmd: shlex.join(cmd[:3] + ["build/tenor"] + cmd[4:])  # noqa: E731
    for name in nets:
        desc, perclass, opts = NETS[name]
        opts = shlex.split((PERCLASS if perclass else COMMON) + " " + opts)
        if a.epochs:
            opts[opts.index("-train_epochs") + 1] = str(a.epochs)
        d = os.path.join(a.out, name)
        base = mpi + [tenor, "train", "-data_file", files["train"][0], "-data_labels", files["train"][1]] + opts
        if perclass:  # p(y | c) from class c's images alone, one model each
            trains = [(base + ["-data_class", str(c), "-out_dir", os.path.join(d, f"class{c}")], os.path.join(a.out, f"{name}.train{c}.log")) for c in range(C)]
            model = ",".join(os.path.join(d, f"class{c}", "model.h5") for c in range(C))
        else:
            trains = [(base + ["-out_dir", d], os.path.join(a.out, f"{name}.train.log"))]
            model = os.path.join(d, "model.h5")
        pred = mpi + [tenor, "predict", "-model", model, "-data_file", files["test"][0], "-data_labels", files["test"][1], "-out_dir", os.path.join(d, "test")]
        t0 = time.time()
        for cmd, log in trains + [(pred, os.path.join(a.out, f"{name}.predict.log"))]:
            print(f"running: {show(cmd)}", flush=True)
            run(cmd, log, env)
        sj = json.load(open(os.path.join(d, "test", "summary.json")))
        pc = np.loadtxt(os.path.join(d, "test", "predict.csv"), delimiter=",", skiprows=1, ndmin=2)
        post = pc[:, 1 + C : 1 + 2 * C]
        if np.max(np.abs(post.sum(axis=1) - 1)) > 1e-12 or not np.array_equal(pc[:, -1].astype(int), lte):
            fail(f"{d}/test/predict.csv: posteriors that do not sum to 1, or labels not the test labels")
        acc = float(np.mean(post.argmax(axis=1) == lte))
        if abs(acc - sj["accuracy"]) > 1e-12:
            fail(f"{d}/test/summary.json: accuracy {sj['accuracy']} but predict.csv gives {acc}")
        cmds = [show(t[0]) for t in trains]
        shown = cmds[0] + (f" (and -data_class 1 .. {C - 1})" if perclass else "") + " && " + show(pred)
        rows.append({"model": f"tenor {name}", "description": desc, "test_accuracy": sj["accuracy"], "test_log_loss_nats": sj["log_loss_nats"], "wall_s": round(time.time() - t0, 1), "command": shown, "per_class": perclass, "models": model})

    grid_cmds = []
    trows = [r for r in rows if r["model"].startswith("tenor")]
    if trows:
        bestrow = min(trows, key=lambda r: r["test_log_loss_nats"])
        best = bestrow["model"][len("tenor ") :]
        d = os.path.join(a.out, best)
        samples = []
        for c in range(C):
            if bestrow["per_class"]:  # class c's own model
                cmd = mpi + [tenor, "sample", "-model", bestrow["models"].split(",")[c], "-sample_n", "10", "-sample_seed", str(c + 1), "-out_dir", os.path.join(d, f"samples_{c}")]
            else:  # the label nodes given e_c
                given = os.path.join(a.out, f"given_{c}.txt")
                export.atomic_write(given, lambda t, c=c: open(t, "w").write("".join(f"{int(i == D + c)}\n" for i in range(D + C))))
                cmd = mpi + [tenor, "sample", "-model", bestrow["models"], "-sample_given", given, "-sample_n", "10", "-sample_seed", str(c + 1), "-out_dir", os.path.join(d, f"samples_{c}")]
            run(cmd, os.path.join(a.out, f"{best}.sample_{c}.log"), env)
            grid_cmds.append(show(cmd))
            xs = np.loadtxt(os.path.join(d, f"samples_{c}", "samples.csv"), delimiter=",", skiprows=1, ndmin=2)
            if not bestrow["per_class"] and not np.all(xs[:, D:] == np.eye(C)[c]):
                fail(f"{d}/samples_{c}/samples.csv: the label nodes do not hold class {c}")
            samples.append(xs[:, :D])
        if not a.no_png:
            real = [yte[lte == c][:10] for c in range(C)]
            class_grid_png(np, os.path.join(a.out, "classes.png"), samples, real, f"tenor {best}: 10 samples of p(y | c) per class", "10 test images per class (dequantised)")

    md = "| model | test accuracy | test log-loss (nats) | what |\n|---|---|---|---|\n"
    md += "".join(f"| {r['model']} | {r['test_accuracy']:.4f} | {r['test_log_loss_nats']:.4f} | {r['description']} |\n" for r in rows)
    md += f"\n{len(lte)} test images, {len(ltr)} training images; dequantised y = x + u (seed {export.DEQUANT_SEED}), as in classify.py and density.py.\n"
    md += "\nCommands:\n\n" + "".join(f"- `{r['command']}`\n" for r in trows) + "".join(f"- `{c}`\n" for c in grid_cmds[:1])
    meta = {"data": os.path.abspath(a.data), "train": len(ltr), "test": len(lte), "dequantize_seed": export.DEQUANT_SEED, "command": "/usr/bin/python3 tools/digits/classify_tenor.py " + shlex.join(sys.argv[1:]), "rows": rows, "sample_commands": grid_cmds}
    export.atomic_write(os.path.join(a.out, "classify_tenor.md"), lambda t: open(t, "w").write(md))
    export.atomic_write(os.path.join(a.out, "classify_tenor.json"), lambda t: open(t, "w").write(json.dumps(meta, indent=1) + "\n"))
    print(md)
    print(f"wrote {a.out}/classify_tenor.md, {a.out}/classify_tenor.json")


if __name__ == "__main__":
    main()
