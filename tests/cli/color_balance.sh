#!/bin/bash
# The colored scheme's per-colour balance across ranks: a substep waits for
# the rank with the most rows of its colour, so a step costs about
# sum_c max_r m_rc row updates against max_r m_r. On er cut into the
# default contiguous halves (-partition_type none), natural-order colours
# pile up on one rank (low node numbers get low colours): `tenor
# logdensity` prints one note giving that factor, which must equal an
# independent count over the colouring it wrote (-dyn_coloring_out) and
# the contiguous split; with the partitioner (the default) no note. A
# lattice cut into strips is even: no note. A small er net (300 nodes,
# about 11 rows of a colour per rank) stays uneven with the partitioner
# and without: the note then says that no partition evens them and does
# not advise a partitioner.
# Usage: color_balance.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
say() { if [ "$1" = ok ]; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }
ER="-net_type er -net_n 20000 -net_k 16 -dyn_scheme colored -dyn_h 0.05 -dyn_steps 2 -data_samples 4 -dyn_batch 4"

mpirun -n 2 "$TENOR" logdensity $ER -partition_type none -dyn_coloring_out col.txt -out_dir none >none.out 2>none.err || { cat none.err; exit 1; }
n=$(grep -c "^note: the colours are uneven across ranks" none.out)
[ "$n" = 1 ] && say ok "one note on er with -partition_type none" || { say fail "$n notes on er with -partition_type none:"; cat none.out; }
got=$(sed -n 's/^note: the colours are uneven across ranks: a step costs about \([0-9.]*\) times.*/\1/p' none.out)
want=$(python3 - col.txt <<'PY'
import sys, collections
c = [int(float(l.split()[0])) for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
N = len(c); h = (N + 1) // 2               # PETSc's default split of N rows over 2 ranks
r = [collections.Counter(c[:h]), collections.Counter(c[h:])]
print(f"{sum(max(x[k] for x in r) for k in set(c)) / max(h, N - h):.2f}")
PY
)
[ -n "$got" ] && [ "$got" = "$want" ] && say ok "the factor $got equals an independent count ($want)" || say fail "the factor '$got' is not the count over the colouring '$want'"
awk -v g="$got" 'BEGIN { exit !(g > 1.3) }' && say ok "contiguous halves of er are uneven (factor $got > 1.3)" || say fail "factor '$got' not > 1.3"
grep -q "^note: .*; a partitioner (-partition_type ptscotch) or a partition file spreads every colour over the ranks" none.out && say ok "the note advises a partitioner (rows in node order)" || { say fail "the note does not advise a partitioner:"; grep note none.out; }

mpirun -n 2 "$TENOR" logdensity $ER -out_dir part >part.out 2>part.err || { cat part.err; exit 1; }
grep -q "^note: the colours are uneven" part.out && { say fail "a note with the partitioner:"; grep note part.out; } || say ok "no note with the partitioner"
mpirun -n 2 "$TENOR" logdensity -net_type lattice2d -net_n 64 -partition_type none -dyn_scheme colored -dyn_steps 2 -data_samples 4 -dyn_batch 4 -out_dir lat >lat.out 2>lat.err || { cat lat.err; exit 1; }
grep -q "^note: the colours are uneven" lat.out && { say fail "a note on the lattice in strips:"; grep note lat.out; } || say ok "no note on the lattice in strips"
for pt in ptscotch none; do
  mpirun -n 2 "$TENOR" logdensity ${ER/-net_n 20000/-net_n 300} -partition_type $pt -out_dir small_$pt >small_$pt.out 2>small_$pt.err || { cat small_$pt.err; exit 1; }
  if grep -q "^note: the colours are uneven" small_$pt.out; then
    grep -q "^note: .*rows of each colour on a rank (rank 0) no partition evens them: more nodes per rank do" small_$pt.out && ! grep -q "^note: .*-partition_type ptscotch" small_$pt.out &&
      say ok "er N = 300, -partition_type $pt: the note says no partition evens them, advises none" || { say fail "er N = 300, -partition_type $pt, the note:"; grep note small_$pt.out; }
  else
    say fail "no note on er N = 300 with -partition_type $pt (colours of about 11 rows per rank)"; cat small_$pt.out
  fi
done
exit $fail
