#!/usr/bin/env python3
"""Plots of the gap study (docs/gap-study.md) from docs/gap/results.csv and the
per-run logdet.json files written by docs/gap/sweep.sh.
gap = (local method - exact) / N per step, in nats per node; > 0 means the
local method overstates log|det J_k|. Needs python3-matplotlib.
Usage: /usr/bin/python3 docs/gap/plot.py [DIR]"""
import csv, glob, json, math, os, sys

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np

D = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
rows = list(csv.DictReader(open(os.path.join(D, 'results.csv'))))
for r in rows:
    for key in ('N', 'k', 'K', 'samples'):
        r[key] = int(r[key])
    for key in ('r_requested', 'r_measured', 'scale', 'h', 'mean_gap_per_node', 'sd_gap_per_node', 'mean_value_per_node', 'mean_seconds', 'pred_diag_gap_per_node', 'pred_trace_gap_per_node'):
        r[key] = float(r[key])

WLABEL = {'indep': 'independent weights', 'sym': r'symmetric pairs $W_{ji}=W_{ij}$'}
COLOR = {'diag': 'C0', 'trace': 'C3', 'diag_h2': 'C2', 'trace_h2': 'C1'}


def sel(**kw):
    return [r for r in rows if all(r[k] == v for k, v in kw.items())]


def slope(x, y):
    x, y = np.log(np.asarray(x)), np.log(np.abs(np.asarray(y)))
    return np.polyfit(x, y, 1)[0]


def save(fig, name):
    fig.tight_layout()
    fig.savefig(os.path.join(D, name), dpi=110)
    plt.close(fig)
    print('wrote', os.path.join(D, name))


def gap_vs_h():
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    for ax, w in zip(axes, ('indep', 'sym')):
        for r, ls in ((0.0, '--'), (1.0, '-')):
            for m in ('trace', 'diag', 'diag_h2'):
                pts = sorted(sel(sweep='h', weights=w, r_requested=r, method=m), key=lambda q: q['h'])
                if not pts:
                    continue
                h = [q['h'] for q in pts]
                g = [abs(q['mean_gap_per_node']) for q in pts]
                ax.loglog(h, g, ls, color=COLOR[m], marker='o', ms=4, label=f'{m}, r={r:g}: slope {slope(h, g):.2f}')
                if m == 'diag':
                    p = [abs(q['pred_diag_gap_per_node']) for q in pts]
                    ax.loglog(h, p, ls, color='k', lw=0.8, marker='x', ms=5, label=r'predicted $\frac{h^2}{2N}\sum_{i\neq j}A_{ij}A_{ji}$' + f', r={r:g}')
        ax.set_xlabel('step size h')
        ax.set_title(f'er N=1000, k=8, g=1, K=1: {WLABEL[w]}', fontsize=10)
        ax.grid(True, which='both', alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel('|local - exact| log|det J| per node (nats)')
    save(fig, 'gap_vs_h.png')


def gap_vs_r():
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    for w, mk in (('indep', 's'), ('sym', 'o')):
        pts = sorted(sel(sweep='r', weights=w, method='diag'), key=lambda q: q['r_measured'])
        h = pts[0]['h']
        x = [q['r_measured'] for q in pts]
        axes[0].plot(x, [q['mean_gap_per_node'] / h**2 for q in pts], '-', marker=mk, color='C0', label=f'diag measured, {WLABEL[w]}')
        axes[0].plot(x, [q['pred_diag_gap_per_node'] / h**2 for q in pts], ':', marker='x', color='k', label=f'predicted, {WLABEL[w]}')
        tp = sorted(sel(sweep='r', weights=w, method='trace'), key=lambda q: q['r_measured'])
        axes[1].plot(x, [q['mean_gap_per_node'] / h**2 for q in tp], '-', marker=mk, color='C3', label=f'trace measured, {WLABEL[w]}')
        axes[1].plot(x, [q['pred_trace_gap_per_node'] / h**2 for q in tp], ':', marker='x', color='k', label=f'predicted, {WLABEL[w]}')
    axes[0].set_ylabel(r'diag gap per node / $h^2$ (nats)')
    axes[1].set_ylabel(r'trace gap per node / $h^2$ (nats)')
    for ax in axes:
        ax.set_xlabel('measured reciprocity r')
        ax.axhline(0, color='grey', lw=0.5)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_title(f'h^2 coefficient of the diag gap (er N=1000, k=8, h={h:g}, K=1)', fontsize=10)
    axes[1].set_title(f'h^2 coefficient of the trace gap', fontsize=10)
    save(fig, 'gap_vs_reciprocity.png')


def gap_vs_params():
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
    for ax, sweep, key, xl in ((axes[0], 'k', 'k', 'in-degree k'), (axes[1], 'g', 'scale', 'weight scale g (-net_scale)'), (axes[2], 'N', 'N', 'nodes N')):
        for w, ls in (('indep', '--'), ('sym', '-')):
            for m in ('trace', 'diag'):
                pts = sorted(sel(sweep=sweep, weights=w, method=m), key=lambda q: q[key])
                x = [q[key] for q in pts]
                y = [abs(q['mean_gap_per_node']) for q in pts]
                ax.errorbar(x, y, yerr=[q['sd_gap_per_node'] for q in pts], fmt=ls, color=COLOR[m], marker='o', ms=4, capsize=2, label=f'{m}, {WLABEL[w]}')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xticks(sorted({q[key] for q in sel(sweep=sweep)}))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter('%g'))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(xl)
        ax.grid(True, which='both', alpha=0.3)
    axes[0].set_ylabel('|local - exact| per node (nats), bars: sd over samples')
    axes[0].set_title('r=1, N=1000, g=1, h=0.1', fontsize=10)
    axes[1].set_title('r=1, N=1000, k=8, h=0.1', fontsize=10)
    axes[2].set_title('r=1, k=8, g=1, h=0.1', fontsize=10)
    axes[2].legend(fontsize=7)
    save(fig, 'gap_vs_k_scale_N.png')


def gap_vs_step():
    fig, ax = plt.subplots(figsize=(7, 4.4))
    for path in sorted(glob.glob(os.path.join(D, 'runs', 'K_*'))):
        if not os.path.isdir(path):
            continue
        j = json.load(open(os.path.join(path, 'logdet.json')))
        w = 'sym' if '_sym_' in path else 'indep'
        for m, ls in (('trace', '-'), ('diag', '-'), ('diag_h2', ':')):
            y = j['methods'][m]['mean_gap_per_node_by_step']
            ax.plot(range(len(y)), y, ls if w == 'sym' else '--', color=COLOR[m], marker='.', label=f'{m}, {WLABEL[w]}')
    ax.set_xlabel('step k (state a_k along the trajectory, h = 0.1)')
    ax.set_ylabel('(local - exact) log|det J_k| per node (nats)')
    ax.set_title('er N=1000, k=8, r=1, g=1: gap along the trajectory', fontsize=10)
    ax.axhline(0, color='grey', lw=0.5)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, 'gap_vs_step.png')


def predicted_vs_measured():
    fig, ax = plt.subplots(figsize=(6, 5.4))
    for w, mk in (('indep', 's'), ('sym', 'o')):
        for m, pk in (('diag', 'pred_diag_gap_per_node'), ('trace', 'pred_trace_gap_per_node')):
            pts = [q for q in sel(weights=w, method=m) if q['K'] == 1]
            ax.scatter([q[pk] for q in pts], [q['mean_gap_per_node'] for q in pts], marker=mk, s=16, color=COLOR[m], alpha=0.7, label=f'{m}, {WLABEL[w]}')
    lim = np.concatenate([-np.logspace(-3, -9, 40), [0], np.logspace(-9, -1, 60)])
    ax.plot(lim, lim, 'k-', lw=0.7, label='measured = predicted')
    ax.set_xscale('symlog', linthresh=1e-8)
    ax.set_yscale('symlog', linthresh=1e-8)
    ax.set_xticks([-1e-4, -1e-6, 0, 1e-6, 1e-4, 1e-2])
    ax.set_yticks([-1e-4, -1e-6, 0, 1e-6, 1e-4, 1e-2])
    ax.set_xlabel('second-order prediction per node (nats)')
    ax.set_ylabel('measured gap per node (nats)')
    ax.set_title('every K=1 run of the sweep', fontsize=10)
    ax.grid(True, which='major', alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, 'predicted_vs_measured.png')


gap_vs_h()
gap_vs_r()
gap_vs_params()
gap_vs_step()
predicted_vs_measured()
