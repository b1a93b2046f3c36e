#!/bin/bash
# What tenor writes: every JSON file (summary.json, logdet.json,
# normcheck.json, sample.json, train.json) is valid JSON even when -out_dir
# holds a quote and a backslash, at 1 and 2 ranks, and carries the
# "provenance" object (version, git commit, options, input files with size and
# FNV-1a hash, preprocessing, ranks). Usage: outputs.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
say() { if [ "$1" = ok ]; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }
python3 -c 'import random; random.seed(1); print("\n".join(",".join("%.6f" % random.gauss(0, 1) for i in range(36)) for s in range(8)))' >data.csv
D='dir "quoted" \back\slash'
for np in 1 2; do
  out="$D $np"
  runs=(
    "summary.json logdensity -net_n 6 -data_file data.csv"
    "logdet.json logdet -net_type er -net_n 12 -net_k 2 -logdet_methods diag,trace -dyn_steps 1 -data_samples 2"
    "normcheck.json normcheck -net_type full -net_n 2 -net_scale 0.6 -dyn_steps 2 -norm_points 11"
    "sample.json sample -net_n 6 -sample_n 3"
    "train.json train -net_n 4 -data_samples 64 -train_epochs 1"
  )
  for r in "${runs[@]}"; do
    set -- $r; file=$1; cmd=$2; shift 2
    launch=(mpirun -n $np --oversubscribe); [ $np = 1 ] && launch=() # one rank: no launcher (faster)
    if ! "${launch[@]}" "$TENOR" $cmd "$@" -out_dir "$out" >run.log 2>&1; then
      say fail "$cmd at $np ranks"; cat run.log; continue
    fi
    if python3 -m json.tool "$out/$file" >/dev/null 2>json.err; then say ok "$cmd at $np ranks: $file is valid JSON"; else say fail "$cmd at $np ranks: $file: $(cat json.err)"; continue; fi
    python3 - "$out/$file" "$np" "$cmd" "$out" <<'PY' && say ok "$cmd at $np ranks: provenance" || say fail "$cmd at $np ranks: provenance"
import json, sys
j = json.load(open(sys.argv[1])); p = j["provenance"]
assert p["ranks"] == int(sys.argv[2]) and p["command"] == sys.argv[3], p
assert p["tenor_version"] and p["git_commit"], p
assert sys.argv[4] in p["options"] and "-out_dir" in p["options"], p["options"]
assert "preprocessing" in p and isinstance(p["inputs"], list)
if sys.argv[3] in ("logdensity", "train", "logdet"):
    assert p["preprocessing"]["standardize"] is False, p["preprocessing"]
PY
  done
done
# the input file: its size and 64-bit FNV-1a hash, computed independently
python3 - "$D 1/summary.json" data.csv <<'PY' && say ok "input file recorded with size and FNV-1a" || say fail "input file record"
import json, os, sys
f = json.load(open(sys.argv[1]))["provenance"]["inputs"]
data = open(sys.argv[2], "rb").read()
h = 14695981039346656037
for b in data: h = ((h ^ b) * 1099511628211) % 2**64
assert f == [{"option": "-data_file", "path": "data.csv", "bytes": len(data), "fnv1a64": "%016x" % h}], f
PY
exit $fail
