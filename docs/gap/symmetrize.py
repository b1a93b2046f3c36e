#!/usr/bin/env python3
"""W_ji := W_ij on every reciprocal pair (i < j, both W_ij and W_ji stored) of
a MatrixMarket coordinate file; the pattern and every other weight are kept.
Usage: symmetrize.py IN.mtx OUT.mtx"""
import sys

def main(src, dst):
    with open(src) as f:
        lines = [l for l in f if l.strip() and not l.startswith('%')]
    n, _, nnz = (int(t) for t in lines[0].split())
    w = {}
    for l in lines[1:1 + nnz]:
        i, j, v = l.split()
        w[(int(i), int(j))] = float(v)
    for (i, j), v in list(w.items()):
        if i < j and (j, i) in w:
            w[(j, i)] = v
    with open(dst, 'w') as f:
        f.write('%%MatrixMarket matrix coordinate real general\n')
        f.write(f'{n} {n} {len(w)}\n')
        for (i, j), v in sorted(w.items()):
            f.write(f'{i} {j} {v:.17g}\n')

if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
