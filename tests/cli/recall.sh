#!/bin/bash
# tenor recall end to end: its files and their columns; the same recall.csv
# at 1 and 3 ranks (full with the overlap form, er with the explicit W,
# async and sync); the overlap form and the explicit W give the same file;
# p = 1 is always retrieved from noise < 1/2; a pattern file is read (and
# listed with its hash in the provenance); each bad input gives one
# "tenor: error:" line at 3 ranks, non-zero exit, no hang; no output through
# a symbolic link; -help lists the options. Usage: recall.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
json() { sed -n "s/.*\"$2\": \([-0-9.eE+]*\).*/\1/p" "$1" | head -1; }
run() { # NAME NP ARGS...
  local name=$1 np=$2; shift 2
  timeout 300 mpirun -n "$np" --oversubscribe "$TENOR" recall -out_dir "$name" "$@" >"$name.log" 2>&1 || { echo "FAIL $name: exit $?"; cat "$name.log"; fail=1; }
}
same() { # A B WHAT
  if cmp -s "$1/recall.csv" "$2/recall.csv"; then echo "ok   $3: recall.csv identical"; else echo "FAIL $3: recall.csv differs"; diff "$1/recall.csv" "$2/recall.csv" | head; fail=1; fi
}
FULL="-net_type full -net_n 300 -recall_patterns 45 -recall_noise 0.1 -recall_seed 3"
ER="-net_type er -net_n 2000 -net_k 30 -recall_patterns 9 -recall_noise 0.15 -recall_seed 4 -recall_max_sweeps 20"

run full1 1 $FULL
run full3 3 $FULL
same full1 full3 "full, overlap form, 1 and 3 ranks"
head -1 full1/recall.csv | grep -qx "pattern,overlap,retrieved,sweeps,converged,flips,noisy" && [ "$(wc -l <full1/recall.csv)" -eq 46 ] \
  && echo "ok   recall.csv: header and 45 rows" || { echo "FAIL recall.csv shape"; head -2 full1/recall.csv; fail=1; }
for key in N p alpha k overlap_mean overlap_sd fraction_retrieved sweeps_mean tests noise update field provenance; do
  grep -q "\"$key\"" full1/recall.json || { echo "FAIL recall.json lacks $key"; fail=1; }
done
grep -q '"field": "overlap"' full1/recall.json && grep -q "alpha = p/k = 0.150502" full1.log && grep -q "result: mean overlap" full1.log \
  && echo "ok   full: $(grep 'result:' full1.log)" || { echo "FAIL full summary"; cat full1.log; fail=1; }
awk -F, 'NR > 1 && $7 != 30 { bad = 1 } END { exit bad }' full1/recall.csv && echo "ok   noise 0.1 of N = 300: 30 bits flipped in every start state" || { echo "FAIL noisy bits"; fail=1; }

run fullx 2 $FULL -recall_field explicit
same full1 fullx "full, explicit W against the overlap form"
run fullsync1 1 $FULL -recall_update sync
run fullsync3 3 $FULL -recall_update sync -recall_field explicit
same fullsync1 fullsync3 "full, sync, overlap at 1 rank and explicit at 3"

run er1 1 $ER
run er3 3 $ER
same er1 er3 "er, async colour by colour, 1 and 3 ranks"
grep -q '"field": "explicit"' er1/recall.json && echo "ok   er: $(grep 'result:' er1.log)" || { echo "FAIL er field"; fail=1; }
run ersync1 1 $ER -recall_update sync
run ersync3 3 $ER -recall_update sync -partition_type none
same ersync1 ersync3 "er, sync, 1 and 3 ranks (partitioned and not)"

# p = 1 from noise 0.45: always m = 1
run one 3 -net_type full -net_n 101 -recall_patterns 1 -recall_noise 0.45
awk -F, 'NR == 2 && $2 == 1 && $3 == 1 && $7 == 45 { ok = 1 } END { exit !ok }' one/recall.csv && echo "ok   p = 1, 45 of 101 bits flipped: retrieved, m = 1" || { echo "FAIL p = 1"; cat one/recall.csv; fail=1; }

# a pattern file: +1/-1/1, blanks or commas, comments; listed in the provenance
printf '# two patterns of N = 6\n1 -1 1 -1 1 -1\n+1,1,1,-1,-1,-1  # second\n\n' >pat.txt
run file 3 -net_type full -net_n 6 -recall_pattern_file pat.txt
[ "$(json file/recall.json p)" = 2 ] && grep -q '"-recall_pattern_file"' file/recall.json && grep -q fnv1a64 file/recall.json \
  && echo "ok   pattern file: p = 2 read, listed in the provenance" || { echo "FAIL pattern file"; cat file.log; fail=1; }

# -recall_alphas: one network, a memory per alpha (p = round(alpha k)); each
# memory's recall.csv is the one a run with -recall_patterns p writes, a
# repeated p is run once, the tests are min(-recall_tests, p), and
# recall_alphas.csv has a line per memory
ERA="-net_type er -net_n 2000 -net_k 30 -recall_noise 0.1 -recall_seed 4 -recall_max_sweeps 20 -recall_update sync -recall_tests 4"
run alphas 3 $ERA -recall_alphas 0.1,0.5,0.51,0.8
run alpha15 2 $ERA -recall_patterns 15
run alpha3 1 $ERA -recall_patterns 3 -recall_tests 3
same alphas/p15 alpha15 "-recall_alphas 0.5 (p = 15 of k = 30) at 3 ranks against -recall_patterns 15 at 2"
same alphas/p3 alpha3 "-recall_alphas 0.1 (p = 3, tests 3 of 4) against -recall_patterns 3"
[ "$(wc -l <alphas/recall_alphas.csv)" -eq 4 ] && [ -s alphas/p24/recall.json ] && [ ! -e alphas/p0 ] \
  && awk -F, 'NR == 1 && $2 == "p" && $7 == "overlap_mean" { h = 1 } NR > 1 { ps = ps " " $2 " " $6 } END { exit !(h && ps == " 3 3 15 4 24 4") }' alphas/recall_alphas.csv \
  && grep -q "alpha 0.51 gives p = 15, already run" alphas.log \
  && echo "ok   -recall_alphas: memories p = 3, 15, 24 on one net, recall_alphas.csv" || { echo "FAIL -recall_alphas"; cat alphas/recall_alphas.csv alphas.log; fail=1; }

# bad input: one error line each at 3 ranks
expect_error() { # NAME PATTERN ARGS...
  local name=$1 pat=$2; shift 2
  timeout 120 mpirun -n 3 --oversubscribe "$TENOR" recall -out_dir "$W/out" "$@" >"$name.out" 2>&1
  local rc=$? n
  n=$(grep -c "tenor: error:" "$name.out")
  if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ "$n" -ne 1 ] || ! grep -q -- "$pat" "$name.out"; then
    echo "FAIL $name: exit $rc, $n error line(s), expected /$pat/"; cat "$name.out"; fail=1
  else echo "ok   $name: $(grep 'tenor: error:' "$name.out" | cut -c1-160)"; fi
}
printf '1 -1 1 -1 1 -1\n1 -1 2 -1 1 -1\n' >two.txt
printf '1 -1 1 -1 1 -1\n1 -1 1 -1 1\n' >short.txt
printf '1 -1 1 -1 1 -1\n1 -1 0.5 -1 1 -1\n' >half.txt
expect_error p_zero "recall_patterns 0" -net_type full -net_n 10 -recall_patterns 0
expect_error p_too_many "more than the 2 patterns" -net_type full -net_n 6 -recall_pattern_file pat.txt -recall_patterns 3
expect_error p_memory "stored patterns" -net_type full -net_n 1000 -recall_patterns 2000000000 -memory_limit 1e6
expect_error noise_high "recall_noise" -net_type full -net_n 10 -recall_patterns 2 -recall_noise 1.5
expect_error noise_low "recall_noise" -net_type full -net_n 10 -recall_patterns 2 -recall_noise -0.1
expect_error value_two "line 2, value 3: '2' is not +1 or -1" -net_type full -net_n 6 -recall_pattern_file two.txt
expect_error value_half "'0.5' is not +1 or -1" -net_type full -net_n 6 -recall_pattern_file half.txt
expect_error short_line "line 2: 5 values" -net_type full -net_n 6 -recall_pattern_file short.txt
expect_error no_file "nosuch.txt" -net_type full -net_n 6 -recall_pattern_file nosuch.txt
expect_error tests_above_p "recall_tests 5" -net_type full -net_n 10 -recall_patterns 2 -recall_tests 5
expect_error overlap_er "needs a full network" -net_type er -net_n 50 -net_k 4 -recall_patterns 2 -recall_field overlap
expect_error alphas_and_p "drop -recall_patterns" -net_type er -net_n 50 -net_k 4 -recall_patterns 2 -recall_alphas 0.5
expect_error alphas_negative "must be positive" -net_type er -net_n 50 -net_k 4 -recall_alphas 0.5,-0.1
expect_error bad_update "bogus" -net_type full -net_n 10 -recall_patterns 2 -recall_update bogus
# no output through a symbolic link: refused, the target untouched
echo keep >victim.txt
mkdir -p out && ln -sfn "$W/victim.txt" out/recall.csv
expect_error symlink_output "out/recall.csv: it is a symbolic link" -net_type full -net_n 10 -recall_patterns 2
[ "$(cat victim.txt)" = keep ] && echo "ok   the link's target is untouched" || { echo "FAIL victim changed"; fail=1; }

timeout 60 mpirun -n 1 "$TENOR" recall -help >help.log 2>&1
for opt in -recall_patterns -recall_pattern_file -recall_noise -recall_update -recall_field -recall_max_sweeps -recall_tests -recall_alphas -recall_threshold -recall_seed -net_type -dyn_coloring_file; do
  grep -q -- "$opt" help.log || { echo "FAIL -help lacks $opt"; fail=1; }
done
[ $fail -eq 0 ] && echo "recall: all passed"
exit $fail
