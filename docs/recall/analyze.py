#!/usr/bin/env python3
"""Figures and fits of the Hopfield memory study (docs/recall.md) from
docs/recall/results.csv, written by docs/recall/study.sh.

alpha_c of one sweep (one N, k and pattern set): the alpha at which the mean
final overlap from the stored patterns themselves (noise 0) first falls below
M_C (0.9 by default), by linear interpolation between the two grid points
around the crossing.

full: alpha_c(N) = mean over the pattern sets, error = their standard error;
fit alpha_c(N) = alpha_inf + a N^-nu by weighted least squares, (i) with
nu = 1/2 fixed and (ii) with nu free; the error of alpha_inf from the fit's
covariance (scaled by the reduced chi^2 when above 1).

er (diluted, synchronous): alpha_c at M_C and at m = 0.1 (where m(alpha)
goes to 0 in the extremely diluted limit), against k/N, with the
Derrida-Gardner-Zippelius values: m = erf(m / sqrt(2 alpha)) has m -> 0 at
2/pi and m = 0.9 at 0.2994.
er1e6 (N = 10^6, the whole alpha grid on one network, T = $T_SWEEPS sweeps,
default 20, from the pattern itself): where m(alpha) reaches 0, per k, two
ways. (i) Mean field near the end: m^2 = A (alpha_0 - alpha), a least-squares
line through the points with 0.03 < m < 0.6 and alpha >= 0.5; alpha_0 its
zero, the error from the line's covariance. (ii) The sweep limit taken into
account: synchronous dynamics from m_0 = 1 follows DGZ's recursion
m_{t+1} = erf(m_t / sqrt(2 alpha)) in the extremely diluted limit, and after
T sweeps m_T is still well above the fixed point near 2/pi (critical slowing
down: m_20 = 0.16 at alpha = 0.7 where the fixed point is 0). The model
m_T(alpha) = F_T(alpha (2/pi) / alpha_0), F_T the T-step DGZ iterate, has
the fixed point m -> 0 at alpha = alpha_0; alpha_0 by least squares over
alpha >= 0.5, the error by the jackknife over the alpha points. (iii) Two
curves without a free parameter: DGZ itself, and DGZ with the crosstalk of
the p - 1 other patterns only, variance (p - 1)/k = alpha - 1/k, so
alpha_eff = alpha - 1/k and m -> 0 at 2/pi + 1/k.
Needs python3-matplotlib and numpy. Usage: /usr/bin/python3 docs/recall/analyze.py [DIR [OUT]]
(DIR holds results.csv, default this folder; figures and summary.txt go to OUT, default DIR)."""
import csv, math, os, sys
from collections import defaultdict

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np

D = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
O = sys.argv[2] if len(sys.argv) > 2 else D
os.makedirs(O, exist_ok=True)
M_C = float(os.environ.get('M_C', '0.9'))
rows = list(csv.DictReader(open(os.path.join(D, 'results.csv'))))
for r in rows:
    for key in ('N', 'seed', 'p', 'tests'):
        r[key] = int(r[key])
    for key in ('k', 'alpha', 'overlap_mean', 'overlap_sd', 'fraction_retrieved', 'sweeps_mean', 'seconds'):
        r[key] = float(r[key])


def crossing(curve, level):
    """First alpha where m falls below level (linear interpolation), or None."""
    curve = sorted(curve)
    for (a0, m0), (a1, m1) in zip(curve, curve[1:]):
        if m0 >= level > m1:
            return a0 + (m0 - level) * (a1 - a0) / (m0 - m1)
    return None


def dgz_m(alpha):
    """Largest fixed point of m = erf(m / sqrt(2 alpha)) (0 above 2/pi)."""
    m = 1.0
    for _ in range(20000):
        m = math.erf(m / math.sqrt(2 * alpha))
    return m


def dgz_alpha(level):
    lo, hi = 1e-3, 2 / math.pi
    for _ in range(100):
        mid = (lo + hi) / 2
        if dgz_m(mid) >= level:
            lo = mid
        else:
            hi = mid
    return lo


sweeps = defaultdict(list)  # (study, type, N, k, seed) -> [(alpha, m)]
for r in rows:
    sweeps[(r['study'], r['type'], r['N'], r['k'], r['seed'])].append((r['alpha'], r['overlap_mean']))

out = []
# --- full: alpha_c(N) and the extrapolation
full = defaultdict(list)
for (study, typ, N, k, seed), c in sweeps.items():
    if study == 'full':
        a = crossing(c, M_C)
        if a is not None:
            full[N].append(a)
Ns = sorted(full)
fit_text = []
if Ns:
    x = np.array(Ns, float)
    y = np.array([np.mean(full[N]) for N in Ns])
    e = np.array([np.std(full[N], ddof=1) / math.sqrt(len(full[N])) if len(full[N]) > 1 else 0.01 for N in Ns])
    e = np.maximum(e, 1e-4)
    out.append('full: alpha_c(N) at m = %.2f (mean over pattern sets +- standard error)' % M_C)
    for N, yy, ee in zip(Ns, y, e):
        out.append('  N = %6d: %.4f +- %.4f  (%d sets: %s)' % (N, yy, ee, len(full[N]), ' '.join('%.4f' % v for v in full[N])))

    def wls(nu):
        A = np.vstack([np.ones_like(x), x ** -nu]).T
        W = np.diag(1 / e ** 2)
        cov = np.linalg.inv(A.T @ W @ A)
        beta = cov @ A.T @ W @ y
        chi2 = float(((A @ beta - y) / e) ** 2 @ np.ones_like(y))
        dof = max(len(y) - 2, 1)
        s = max(chi2 / dof, 1.0)
        return beta, cov * s, chi2, dof

    if len(Ns) >= 3:
        beta, cov, chi2, dof = wls(0.5)
        fit_text.append((0.5, beta, cov, chi2, dof))
        out.append('  fit nu = 1/2 fixed: alpha_inf = %.4f +- %.4f, a = %.3f, chi2/dof = %.2f/%d' % (beta[0], math.sqrt(cov[0, 0]), beta[1], chi2, dof))
    if len(Ns) >= 4:
        best = None
        for nu in np.linspace(0.1, 1.5, 141):
            b, c_, chi2, dof = wls(nu)
            if best is None or chi2 < best[3]:
                best = (nu, b, c_, chi2, dof)
        nu, b, c_, chi2, dof = best
        # the error of alpha_inf with nu free: the spread of alpha_inf over nu within chi2_min + 1
        ok = [wls(v)[0][0] for v in np.linspace(0.1, 1.5, 141) if wls(v)[2] <= chi2 + 1]
        spread = (max(ok) - min(ok)) / 2 if ok else float('nan')
        fit_text.append((nu, b, c_, chi2, dof))
        out.append('  fit nu free: nu = %.2f, alpha_inf = %.4f +- %.4f (fit) , range over chi2_min + 1: %.4f .. %.4f, chi2/dof = %.2f/%d'
                   % (nu, b[0], math.sqrt(c_[0, 0]), min(ok), max(ok), chi2, dof - 1))
    out.append('  Amit-Gutfreund-Sompolinsky: 0.138')

    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for N in Ns:
        al = sorted(set(a for (s, t, n, k, sd), c in sweeps.items() if s == 'full' and n == N for a, _ in c))
        ms = [np.mean([m for (s, t, n, k, sd), c in sweeps.items() if s == 'full' and n == N for a2, m in c if a2 == a]) for a in al]
        ax[0].plot(al, ms, 'o-', ms=3, label='N = %d' % N)
    ax[0].axhline(M_C, color='gray', ls=':', lw=1)
    ax[0].axvline(0.138, color='k', ls='--', lw=1, label='AGS 0.138')
    ax[0].set_xlabel(r'$\alpha = p/(N-1)$')
    ax[0].set_ylabel('mean final overlap m (from the pattern)')
    ax[0].set_title('full network, asynchronous')
    ax[0].legend(fontsize=8)
    ax[1].errorbar(x ** -0.5, y, yerr=e, fmt='o', label=r'$\alpha_c(N)$ at m = %.1f' % M_C)
    xx = np.linspace(0, x.min() ** -0.5 * 1.05, 100)
    for nu, b, c_, chi2, dof in fit_text:
        ax[1].plot(xx, b[0] + b[1] * xx ** (2 * nu),  # N^-nu = (N^-1/2)^(2 nu)
                   label=r'$\nu$ = %.2f: $\alpha_c(\infty)$ = %.4f $\pm$ %.4f' % (nu, b[0], math.sqrt(c_[0, 0])))
    ax[1].axhspan(0.128, 0.148, color='gray', alpha=0.2, label='0.138 $\\pm$ 0.01')
    ax[1].set_xlabel(r'$N^{-1/2}$')
    ax[1].set_ylabel(r'$\alpha_c(N)$')
    ax[1].set_title('finite-size extrapolation')
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(O, 'alpha_c_full.png'), dpi=110)

# --- diluted: alpha_c against k/N
dil = defaultdict(lambda: defaultdict(list))  # (study, N) -> k -> [(a09, a01)]
for (study, typ, N, k, seed), c in sweeps.items():
    if study in ('er', 'ladder', 'er1e6'):
        dil[(study, N)][k].append((crossing(c, M_C), crossing(c, 0.1), typ))
if dil:
    a09, a01 = dgz_alpha(M_C), 2 / math.pi
    out.append('diluted (synchronous): alpha_c at m = %.2f and at m = 0.1; DGZ limit: %.4f and %.4f (m -> 0 at 2/pi = %.4f)' % (M_C, a09, dgz_alpha(0.1), a01))
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for (study, N), byk in sorted(dil.items()):
        ks = sorted(byk)
        f = [k / (N - 1) if byk[k][0][2] == 'full' else k / N for k in ks]
        for j, (lab, mk) in enumerate((('m = %.1f' % M_C, 'o'), ('m = 0.1', 's'))):
            v = [np.mean([t[j] for t in byk[k] if t[j] is not None]) if any(t[j] is not None for t in byk[k]) else np.nan for k in ks]
            ax[0].semilogx(f, v, mk + '-', label='N = %d, %s' % (N, lab))
            for k, ff, vv in zip(ks, f, v):
                out.append('  %s N = %d k = %g (k/N = %.3g): alpha_c(%s) = %s  (%d sets)' % (study, N, k, ff, lab, '%.4f' % vv if vv == vv else 'not reached', len(byk[k])))
    ax[0].axhline(0.138, color='k', ls='--', lw=1, label='AGS 0.138')
    ax[0].axhline(a01, color='C3', ls='--', lw=1, label=r'DGZ $2/\pi$ (m $\to$ 0)')
    ax[0].axhline(a09, color='C3', ls=':', lw=1, label='DGZ, m = %.1f: %.3f' % (M_C, a09))
    ax[0].set_xlabel('k / N')
    ax[0].set_ylabel(r'$\alpha_c = p/k$')
    ax[0].set_title('diluted er networks, synchronous')
    ax[0].legend(fontsize=7)
    al = np.linspace(0.05, 1.0, 200)
    ax[1].plot(al, [dgz_m(a) for a in al], 'k--', label='DGZ: m = erf(m/sqrt(2 alpha))')
    for (study, typ, N, k, seed), c in sorted(sweeps.items()):
        if study in ('er', 'er1e6') or (study == 'ladder' and seed == 1):
            c = sorted(c)
            ax[1].plot([a for a, _ in c], [m for _, m in c], 'o-', ms=3, label='%s N = %d, k = %g' % (typ, N, k))
    ax[1].set_xlabel(r'$\alpha = p/k$')
    ax[1].set_ylabel('mean final overlap m')
    ax[1].set_title('overlap against the extremely diluted limit')
    ax[1].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(os.path.join(O, 'alpha_c_diluted.png'), dpi=110)


# --- er1e6: where m reaches 0
T = int(os.environ.get('T_SWEEPS', '20'))


def dgz_T(alpha, t=T):
    m = 1.0
    for _ in range(t):
        m = math.erf(m / math.sqrt(2 * alpha))
    return m


big = sorted((k, N, sorted(c)) for (study, typ, N, k, seed), c in sweeps.items() if study == 'er1e6')
if big:
    out.append('er1e6 (synchronous, T = %d sweeps from the pattern itself): where m reaches 0; DGZ: 2/pi = %.4f' % (T, 2 / math.pi))
    out.append('  DGZ after T = %d sweeps from m = 1: %s' % (T, ', '.join('m(%.2f) = %.3f' % (a, dgz_T(a)) for a in (0.5, 0.6, 0.65, 0.7, 0.8, 0.9, 1.0))))
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    zeros = []
    al = np.linspace(0.2, 1.05, 300)
    ax[0].plot(al, [dgz_m(a) for a in al], 'k--', lw=1, label='DGZ fixed point (0 above 2/pi)')
    ax[0].plot(al, [dgz_T(a) for a in al], 'k:', lw=1, label='DGZ after T = %d sweeps' % T)
    for j, (k, N, c) in enumerate(big):
        a = np.array([x for x, _ in c])
        m = np.array([y for _, y in c])
        line = '  N = %d, k = %g: m = %s' % (N, k, ', '.join('%.3f@%.2f' % (y, x) for x, y in c))
        out.append(line)
        out.append('    alpha_c(m = %.1f) = %s (DGZ: %.4f, DGZ with alpha_eff = alpha - 1/k: %.4f)' % (M_C, '%.4f' % crossing(c, M_C) if crossing(c, M_C) else 'not reached', dgz_alpha(M_C), dgz_alpha(M_C) + 1 / k))
        # (i) m^2 linear in alpha near the end
        sel = (m > 0.03) & (m < 0.6) & (a >= 0.5)
        a0_i = None
        if sel.sum() >= 2:
            A = np.vstack([np.ones(sel.sum()), a[sel]]).T
            beta, res, *_ = np.linalg.lstsq(A, m[sel] ** 2, rcond=None)
            a0_i = -beta[0] / beta[1]
            if sel.sum() > 2:
                s2 = float(np.sum((A @ beta - m[sel] ** 2) ** 2)) / (sel.sum() - 2)
                cov = s2 * np.linalg.inv(A.T @ A)
                g = np.array([-1 / beta[1], beta[0] / beta[1] ** 2])  # d a0 / d beta
                err = math.sqrt(float(g @ cov @ g))
            else:
                err = float('nan')
            out.append('    (i) m^2 = A (alpha_0 - alpha) over %d points (%.2f .. %.2f): alpha_0 = %.3f +- %.3f (the sweep limit not taken into account)' % (sel.sum(), a[sel].min(), a[sel].max(), a0_i, err))
        # (ii) the T-step DGZ iterate with alpha scaled so that m -> 0 at alpha_0
        sel2 = a >= 0.5
        if sel2.sum() >= 3:
            def fit(aa, mm):
                grid = np.arange(0.40, 1.20, 0.005)
                for _ in range(3):  # refine around the best point: step 0.005, 0.0005, 0.00005
                    ss = np.array([np.sum((np.array([dgz_T(x * (2 / math.pi) / g0) for x in aa]) - mm) ** 2) for g0 in grid])
                    b = grid[int(np.argmin(ss))]
                    step = (grid[1] - grid[0]) / 10
                    grid = np.arange(b - 10 * step, b + 10 * step, step)
                return b, float(ss.min())
            a2, m2 = a[sel2], m[sel2]
            best, ssb = fit(a2, m2)
            jack = np.array([fit(np.delete(a2, i), np.delete(m2, i))[0] for i in range(len(a2))])
            n = len(a2)
            jerr = math.sqrt((n - 1) / n * np.sum((jack - jack.mean()) ** 2))
            ss_dgz = float(np.sum((np.array([dgz_T(x) for x in a2]) - m2) ** 2))
            ss_k = float(np.sum((np.array([dgz_T(x - 1 / k) for x in a2]) - m2) ** 2))
            out.append('    (ii) m_T = F_T(alpha (2/pi)/alpha_0) over %d points (alpha >= 0.5): alpha_0 = %.4f +- %.4f (jackknife over the points), rms residual %.4f'
                       % (n, best, jerr, math.sqrt(ssb / n)))
            out.append('    (iii) no free parameter: DGZ itself (m -> 0 at 2/pi = 0.6366): rms residual %.4f; DGZ with the crosstalk of the p - 1 other patterns, alpha_eff = alpha - 1/k (m -> 0 at 2/pi + 1/k = %.4f): rms residual %.4f'
                       % (math.sqrt(ss_dgz / n), 2 / math.pi + 1 / k, math.sqrt(ss_k / n)))
            ax[0].plot(al, [dgz_T(x * (2 / math.pi) / best) for x in al], '-', color='C%d' % j, lw=0.8, alpha=0.6)
            ax[1].errorbar([1 / k], [best], yerr=[max(jerr, 1e-4)], fmt='o', color='C%d' % j, label='k = %g: T-step fit' % k)
            zeros.append((k, best, jerr))
        ax[0].plot(a, m, 'o', color='C%d' % j, label='er N = %d, k = %g' % (N, k))
    ax[0].set_xlabel(r'$\alpha = p/k$')
    ax[0].set_ylabel('mean overlap after the run')
    ax[0].set_title('N = $10^6$, synchronous, T = %d sweeps' % T)
    ax[0].legend(fontsize=7)
    xk = np.linspace(0, 1.1 * max(1 / z[0] for z in zeros), 50) if zeros else np.linspace(0, 0.1, 50)
    ax[1].plot(xk, 2 / math.pi + xk, 'k--', lw=1, label=r'$2/\pi + 1/k$')
    ax[1].plot([0], [2 / math.pi], 'r*', ms=10, label=r'DGZ $2/\pi$')
    if len(zeros) >= 2:
        x = np.array([1 / z[0] for z in zeros])
        y = np.array([z[1] for z in zeros])
        A = np.vstack([np.ones_like(x), x]).T
        beta = np.linalg.lstsq(A, y, rcond=None)[0]
        if len(zeros) > 2:
            s2 = float(np.sum((A @ beta - y) ** 2)) / (len(zeros) - 2)
            e0 = math.sqrt(max(s2, max(z[2] for z in zeros) ** 2) * np.linalg.inv(A.T @ A)[0, 0])
            es = '+- %.4f' % e0
        else:
            es = '(two points: no error estimate)'
        out.append('  alpha_0(k) = alpha_inf + c/k over k = %s: alpha_inf = %.4f %s, c = %.3f; DGZ 2/pi = %.4f'
                   % (' '.join('%g' % z[0] for z in zeros), beta[0], es, beta[1], 2 / math.pi))
        ax[1].plot(xk, beta[0] + beta[1] * xk, 'C7-', lw=1, label=r'fit: $\alpha_\infty$ = %.4f, c = %.2f' % (beta[0], beta[1]))
    ax[1].set_xlabel('1/k')
    ax[1].set_ylabel(r'$\alpha_0$: m $\to$ 0')
    ax[1].set_title('where the overlap reaches 0')
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(O, 'alpha_zero_er1e6.png'), dpi=110)

text = '\n'.join(out)
open(os.path.join(O, 'summary.txt'), 'w').write(text + '\n')
print(text)
