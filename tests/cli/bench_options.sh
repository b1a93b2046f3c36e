#!/bin/bash
# The benchmarks read the dynamics' options as tenor does, the scheme's own
# included (bench/README.md): bench_step on a periodic 8 x 8 lattice, 2 ranks,
# tiny timings, its JSON on stdout and in -bench_out.
#  1. colored with a 5-colouring ((r + 2c) mod 5, proper on the periodic
#     lattice) as -dyn_coloring_file: 5 colours in the JSON (the default,
#     natural order, gives the checkerboard's 2), and -dyn_coloring_out
#     writes the colouring used, the file's;
#  2. sync with -dyn_panel_kb -5: refused (the scheme's option is read);
#  3. -dyn_scheme: refused once, before any timing, naming -bench_scheme;
#  4. bench_grad with an unknown -bench_scheme: one error naming the schemes
#     (it is not run as sync); its -dyn_h is used, as bench_step's is, and
#     a forward is timed before each gradient (forward_timings: 2 per rep).
#  4b. bench_rule -bench_rules hebb: the forward and hebb alone timed and
#     reported; an unknown rule and an empty list refused once, before the
#     triad.
#  5. a misspelt -bench_ option: refused once, before any work (bench_step,
#     bench_comm), naming it.
#  6. -help: the benchmark's options, once, and nothing run.
#  7. the schemes' timings interleaved: 3 rounds, each the triad then sync
#     then colored (the progress lines in that order), 3 times per case in
#     the JSON, colored's rate against sync's within its min and max.
# Usage: bench_options.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
STEP=$(dirname "$TENOR")/bench/bench_step
fail=0
TINY="-bench_net lattice2d -bench_lattice_n 8 -bench_batch 1 -bench_min_time 0.001 -bench_reps 1 -bench_triad_mb 1 -bench_triad_reps 1"
colors() { sed -n 's/.*"colors": \([0-9]*\),.*/\1/p' "$1"; }

# 1. a 5-colouring, natural order (node r*8 + c)
for r in 0 1 2 3 4 5 6 7; do for c in 0 1 2 3 4 5 6 7; do echo $(((r + 2 * c) % 5)); done; done >board.txt
mpirun -n 2 "$STEP" $TINY -bench_scheme colored -bench_out default.json >default.out 2>default.err || { cat default.err; exit 1; }
mpirun -n 2 "$STEP" $TINY -bench_scheme colored -dyn_coloring_file board.txt -dyn_coloring_out used.txt -bench_out board.json >board.out 2>board.err || { cat board.err; exit 1; }
[ "$(colors board.json)" = 5 ] || { echo "FAIL -dyn_coloring_file is not used: colors = '$(colors board.json)', not 5"; fail=1; }
cmp -s board.json board.out || { echo "FAIL stdout and -bench_out differ"; fail=1; }
d=$(colors default.json)
[ "$d" = 2 ] || { echo "FAIL the default colouring (natural order) has '$d' colours, not the checkerboard's 2"; fail=1; }
cmp -s <(awk '{ print $1 + 0 }' used.txt) board.txt || { echo "FAIL -dyn_coloring_out did not write the file's colouring:"; head -3 used.txt; fail=1; }

# 7. rounds: triad, sync, colored, three times
mpirun -n 2 "$STEP" ${TINY/-bench_reps 1/-bench_reps 3} -bench_scheme sync,colored -bench_out rounds.json >rounds.out 2>rounds.err || { cat rounds.err; exit 1; }
[ "$(grep -c "^  lattice2d B=1 round [123]/3: triad [0-9.]* GB/s, sync [0-9.e-]* s, colored [0-9.e-]* s$" rounds.err)" = 3 ] || { echo "FAIL not 3 rounds of triad, sync, colored:"; cat rounds.err; fail=1; }
python3 - rounds.json <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
cs = d["cases"]
assert [c["scheme"] for c in cs] == ["sync", "colored"], cs
for c in cs:
    assert len(c["step_s_rounds"]) == 3 and min(c["step_s_rounds"]) == c["step_s_best"], c
    assert c["rate_vs_sync_min"] <= c["rate_vs_sync_median"] <= c["rate_vs_sync_max"], c
    assert 0 < c["fraction_of_round_triad_median"] <= c["fraction_of_round_triad_best"], c
s, k = cs
assert s["rate_vs_sync_median"] == 1, s
# round by round, colored's rate against sync's is the ratio of the two rounds' times
rs = sorted(a / b for a, b in zip(s["step_s_rounds"], k["step_s_rounds"]))
assert abs(rs[1] - k["rate_vs_sync_median"]) <= 1e-3 * rs[1], (rs, k)
assert d["triad"]["reps"] == 1 + 3 * 4, d["triad"]
PY

# 2. a sync option of the scheme is read (and checked)
mpirun -n 2 "$STEP" $TINY -bench_scheme sync -dyn_panel_kb -5 >panel.out 2>panel.err && { echo "FAIL -dyn_panel_kb -5 was accepted"; fail=1; }
grep -q "panel_kb" panel.err || { echo "FAIL no message names -dyn_panel_kb:"; cat panel.err; fail=1; }

# 3. -dyn_scheme refused, one message, before the triad
mpirun -n 2 "$STEP" $TINY -dyn_scheme colored >scheme.out 2>scheme.err && { echo "FAIL -dyn_scheme was accepted"; fail=1; }
[ "$(grep -c -- "-dyn_scheme is not read by the benchmarks: they take their schemes from -bench_scheme" scheme.err)" = 1 ] || { echo "FAIL not one clear message for -dyn_scheme:"; cat scheme.err; fail=1; }
grep -q "^triad" scheme.err && { echo "FAIL the triad ran before the refusal"; fail=1; }

# 4. bench_grad takes the scheme as given
GRAD=$(dirname "$TENOR")/bench/bench_grad
mpirun -n 2 "$GRAD" -bench_lattice_n 4 -bench_batch 1 -bench_steps 2 -bench_reps 1 -bench_scheme bogus >grad.out 2>grad.err && { echo "FAIL bench_grad ran -bench_scheme bogus"; fail=1; }
[ "$(grep -c "error: unknown scheme 'bogus': the schemes are" grad.err)" = 1 ] || { echo "FAIL not one clear message for an unknown scheme in bench_grad:"; cat grad.err; fail=1; }
mpirun -n 2 "$GRAD" -bench_lattice_n 4 -bench_batch 1 -bench_steps 2 -bench_reps 1 -dyn_h 0.03 >gradh.out 2>gradh.err || { cat gradh.err; exit 1; }
grep -q '"h": 0.03,' gradh.out || { echo "FAIL bench_grad did not use -dyn_h 0.03:"; grep -o '"h": [^,]*' gradh.out; fail=1; }
# a forward timing before each of the two gradients' (none, sqrt): 2 per rep
grep -q '"forward_timings": 2,' gradh.out || { echo "FAIL bench_grad did not time a forward before each gradient:"; grep -o '"forward_timings": [^,]*' gradh.out; fail=1; }

# 4b. bench_rule -bench_rules
RULE=$(dirname "$TENOR")/bench/bench_rule
RTINY="-bench_net lattice2d -bench_lattice_n 8 -bench_batch 1 -bench_steps 2 -bench_reps 1 -bench_triad_mb 1 -bench_triad_reps 1"
mpirun -n 2 "$RULE" $RTINY -bench_rules hebb >rules.out 2>rules.err || { cat rules.err; exit 1; }
grep -q '"forward": {' rules.out && grep -q '"hebb": {' rules.out || { echo "FAIL bench_rule -bench_rules hebb did not report forward and hebb:"; cat rules.out; fail=1; }
grep -q '"oja"\|"local"' rules.out && { echo "FAIL bench_rule -bench_rules hebb reported another rule:"; cat rules.out; fail=1; }
grep -q 'hebb .* s (' rules.err && ! grep -q 'oja\|local' rules.err || { echo "FAIL bench_rule's progress line is not the forward and hebb alone:"; cat rules.err; fail=1; }
mpirun -n 2 "$RULE" $RTINY -bench_rules hebb,ojaa >rulesbad.out 2>rulesbad.err && { echo "FAIL bench_rule ran -bench_rules hebb,ojaa"; fail=1; }
[ "$(grep -c "error: -bench_rules: unknown rule 'ojaa' (hebb, oja, local)" rulesbad.err)" = 1 ] || { echo "FAIL not one clear message for -bench_rules ojaa:"; cat rulesbad.err; fail=1; }
grep -q "^triad" rulesbad.err && { echo "FAIL the triad ran before the refusal of -bench_rules ojaa"; fail=1; }
mpirun -n 2 "$RULE" $RTINY -bench_rules "" >rulesnone.out 2>rulesnone.err && { echo "FAIL bench_rule ran -bench_rules with no name"; fail=1; }
[ "$(grep -c "error: -bench_rules needs 1 to 15 names of rules (hebb, oja, local), comma-separated; it got none" rulesnone.err)" = 1 ] || { echo "FAIL not one clear message for an empty -bench_rules:"; cat rulesnone.err; fail=1; }

# 5. typos
mpirun -n 2 "$STEP" $TINY -bench_scheme sync -bench_min_tim 0.5 >typo.out 2>typo.err && { echo "FAIL -bench_min_tim was accepted"; fail=1; }
[ "$(grep -c "error: unknown option -bench_min_tim: \`.*bench_step -help\` lists the options of this benchmark" typo.err)" = 1 ] || { echo "FAIL not one clear message for -bench_min_tim:"; cat typo.err; fail=1; }
grep -q "^triad" typo.err && { echo "FAIL the triad ran before the refusal of -bench_min_tim"; fail=1; }
mpirun -n 2 "$(dirname "$TENOR")/bench/bench_comm" -bench_sizes 8 -bench_degree 1 -bench_halo_sizes 8 -bench_min_time 0.001 -bench_reps 1 >comm.out 2>comm.err && { echo "FAIL bench_comm accepted -bench_degree"; fail=1; }
[ "$(grep -c "error: unknown option -bench_degree:" comm.err)" = 1 ] || { echo "FAIL not one clear message for bench_comm -bench_degree:"; cat comm.err; fail=1; }
grep -q "ping-pong" comm.err && { echo "FAIL bench_comm measured before the refusal"; fail=1; }

# 6. -help
mpirun -n 2 "$STEP" -help $TINY >help.out 2>help.err || { echo "FAIL bench_step -help failed"; cat help.err; fail=1; }
[ "$(grep -c -- "-bench_min_time s  " help.out)" = 1 ] || { echo "FAIL -help does not list -bench_min_time once:"; cat help.out; fail=1; }
grep -q '"bench"' help.out && { echo "FAIL bench_step -help ran the benchmark"; fail=1; }
grep -q "^triad" help.err && { echo "FAIL bench_step -help ran the triad"; fail=1; }

[ $fail -eq 0 ] && echo "ok   bench_options: -dyn_coloring_file gives $(colors board.json) colours (default $d), -dyn_coloring_out written, -dyn_panel_kb read, -dyn_scheme refused once, bench_grad refuses an unknown scheme, uses -dyn_h and times a forward before each gradient, bench_rule times only the rules -bench_rules names and refuses an unknown one, misspelt -bench_ options refused, -help lists and stops"
exit $fail
