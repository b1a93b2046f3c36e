#!/usr/bin/python3
"""Samples for the rule figures: a gmrf2d field with per-node scales.

x_s = diag(sc) g_s, g_s an exact sample of the Gaussian Markov random field on
the periodic n x n lattice with precision Q = tau (kappa^2 I - Laplacian)
(tenor's gmrf2d model, drawn here independently by numpy's FFT), and
sc_i ~ U(lo, hi) a fixed scale per node, so that the blocks C_Pi of
C = <x x^T> differ from row to row (a spread of eigengaps for oja).

Writes OUT.h5 with the dataset /x (S x N, float64), through a raw file and
h5import, and OUT.bin (the same values, raw little-endian float64, S x N)
for the checks.

usage: gen_samples.py n S OUT [seed] [lo] [hi]
"""
import os
import subprocess
import sys

import numpy as np


def main():
    n, S, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    lo = float(sys.argv[5]) if len(sys.argv) > 5 else 0.5
    hi = float(sys.argv[6]) if len(sys.argv) > 6 else 1.5
    tau, kappa2 = 1.0, 0.5
    rng = np.random.default_rng(seed)
    p = np.arange(n)
    sp = np.sin(np.pi * p / n) ** 2
    lam = tau * (kappa2 + 4 * sp[:, None] + 4 * sp[None, :])  # eigenvalues of Q
    scale = 1.0 / np.sqrt(lam)
    sc = rng.uniform(lo, hi, size=n * n)
    with open(out + ".bin", "wb") as f:
        for _ in range(S):
            xi = rng.standard_normal((n, n))
            # x = F^-1 Lambda^-1/2 F xi with the unitary DFT: Cov x = Q^-1
            g = np.fft.ifft2(np.fft.fft2(xi) * scale).real
            (sc * g.ravel()).astype("<f8").tofile(f)
    cfg = out + ".cfg"
    with open(cfg, "w") as f:
        f.write("PATH x\nINPUT-CLASS FP\nINPUT-SIZE 64\nINPUT-BYTE-ORDER LE\nRANK 2\n"
                f"DIMENSION-SIZES {S} {n * n}\nOUTPUT-CLASS FP\nOUTPUT-SIZE 64\n"
                "OUTPUT-ARCHITECTURE IEEE\nOUTPUT-BYTE-ORDER LE\n")
    if os.path.exists(out + ".h5"):
        os.remove(out + ".h5")
    subprocess.run(["h5import", out + ".bin", "-c", cfg, "-o", out + ".h5"], check=True)
    os.remove(cfg)


if __name__ == "__main__":
    main()
