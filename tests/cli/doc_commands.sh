#!/bin/bash
# Every shell command printed in the docs runs: the fenced ```sh blocks of
# README.md and docs/*.md, in order, each block as one bash script (set -e,
# pipefail) in a scratch directory per doc file that holds links to build/
# (the build under test), jobs/, tools/, tests/, docs/, bench/, examples/ and partition/,
# with a time limit per block. A failing command is named by its doc file and
# line. Usage: doc_commands.sh TENOR WORKDIR
#
# Conventions for the docs (see docs/architecture.md, "Tests"):
#  - a command that is shown but must not run here ends (its last line, after
#    any `\` continuation) with a comment that says `not run by the tests:
#    REASON` (`# not run by the tests: REASON`, or after the comment's text);
#    used only for installing packages, submitting to Slurm, starting daemons,
#    benchmarks and running this test suite itself;
#  - other fenced blocks (```text, ``` for output) are not run.
#
# Scale-down table, applied (perl) to every command line before it runs, so
# that the whole file takes well under 3 minutes on 2 cores; a value already
# below the cap is kept:
#   -net_n V          -> min(V, 48)     (lattice side 48, or N = 48)
#   -data_gmrf_n V    -> min(V, 48)
#   -data_samples V   -> min(V, 64)
#   -sample_n V       -> min(V, 16)
#   -dyn_steps V      -> min(V, 10)
#   -train_epochs V   -> min(V, 2)
#   -train_steps V    -> min(V, 20)
#   `build/tenor train` with neither -train_epochs nor -train_steps nor -help
#                     -> `build/tenor train -train_epochs 1 -data_samples 1024`
#                        (the default job: 20 epochs of 16384 samples)
# and the job scripts' sizes through the environment (a command's own
# VAR=value prefix still wins): TN_NET_N=32 TN_SIZES=32 TN_RANKS="1 2".
# Open MPI is not told to oversubscribe: a command with more ranks than
# cores must say --oversubscribe itself, as a reader's would.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$(dirname "$1")" && pwd)
W=$2
rm -rf "$W"
mkdir -p "$W"
LIMIT=${DOC_COMMANDS_TIMEOUT:-150} # seconds per block
unset OMPI_MCA_rmaps_base_oversubscribe
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
for v in $(env | sed -n 's/^\(TN_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
unset SLURM_JOB_ID SLURM_NTASKS SLURM_NPROCS SLURM_SUBMIT_DIR RUN_ROOT RUN_DIR STUDY_DIR TENOR
export TN_NET_N=32 TN_SIZES=32 TN_RANKS="1 2"
fail=0
nrun=0
nskip=0
t0=$(date +%s)

scale() {
  perl -pe 's/(-net_n\s+)(\d+)/$1.($2 > 48 ? 48 : $2)/ge;
            s/(-data_gmrf_n\s+)(\d+)/$1.($2 > 48 ? 48 : $2)/ge;
            s/(-data_samples\s+)(\d+)/$1.($2 > 64 ? 64 : $2)/ge;
            s/(-sample_n\s+)(\d+)/$1.($2 > 16 ? 16 : $2)/ge;
            s/(-dyn_steps\s+)(\d+)/$1.($2 > 10 ? 10 : $2)/ge;
            s/(-train_epochs\s+)(\d+)/$1.($2 > 2 ? 2 : $2)/ge;
            s/(-train_steps\s+)(\d+)/$1.($2 > 20 ? 20 : $2)/ge;
            s{(build/tenor train)\b}{$1 -train_epochs 1 -data_samples 1024} unless /-train_(epochs|steps)\b|-help\b/;'
}

# block_script DOC BLOCKFILE: the bash script of one block (lines "N<TAB>text")
block_script() {
  local doc=$1 n text group=() nums=() first
  echo 'set -eE -o pipefail'
  echo "__at() { __l=\$1; echo \"\$1\" >\"\$__lf\"; }"
  echo "trap 'rc=\$?; echo \"FAIL $doc:\$__l: exit status \$rc\" >&2; exit 1' ERR"
  flush() {
    [ ${#group[@]} -gt 0 ] || return 0
    local all
    all=$(printf '%s\n' "${group[@]}")
    if grep -q '#.*not run by the tests:' <<<"$all"; then
      echo "skip $doc:${nums[0]}: $(sed -n 's/.*not run by the tests: *//p' <<<"$all" | head -1)" >>"$W/skipped.txt"
      for _ in "${group[@]}"; do echo ':'; done
    else
      first=${group[0]}
      if [[ $first =~ ^[[:space:]]*(#|$|do\b|done\b|then\b|fi\b|else\b|elif\b|esac\b|\}|\)|\;\;) ]]; then
        printf '%s\n' "${group[@]}" | scale
      else
        { printf '__at %s; %s\n' "${nums[0]}" "$first"; [ ${#group[@]} -gt 1 ] && printf '%s\n' "${group[@]:1}"; } | scale
        echo "${nums[0]}" >>"$W/commands.txt"
      fi
    fi
    group=()
    nums=()
  }
  while IFS=$'\t' read -r n text; do
    group+=("$text")
    nums+=("$n")
    [[ $text == *\\ ]] || flush
  done <"$2"
  flush
}

cd "$W" || exit 1
for docpath in "$SRC/README.md" "$SRC"/docs/*.md; do
  doc=${docpath#$SRC/}
  name=$(echo "$doc" | tr '/.' '__')
  mkdir -p "blocks/$name"
  awk -v dir="blocks/$name" '
    /^```sh[ \t]*$/ && !inb { inb = 1; out = sprintf("%s/%05d", dir, NR); next }
    /^```/ && inb { inb = 0; close(out); next }
    inb { printf "%d\t%s\n", NR, $0 > out }' "$docpath"
  ls "blocks/$name" | grep -q . || continue
  # the scratch directory of this doc: the project's folders linked, outputs here
  S=$W/run/$name
  mkdir -p "$S"
  ln -s "$BUILD" "$S/build"
  for d in jobs tools tests docs bench examples partition; do ln -s "$SRC/$d" "$S/$d"; done
  for b in "blocks/$name"/*; do
    start=$((10#$(basename "$b") - 1))
    block_script "$doc" "$b" >"$b.sh"
    lf=$W/$b.line
    echo "$start" >"$lf"
    tb=$(date +%s)
    (cd "$S" && __lf=$lf timeout -k 10 "$LIMIT" bash "$W/$b.sh") >"$b.log" 2>&1
    rc=$?
    echo "$doc:$start: block ran in $(($(date +%s) - tb)) s (status $rc)" >>times.txt
    nrun=$((nrun + 1))
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
      echo "FAIL $doc:$(cat "$lf"): still running after $LIMIT s (the block of line $start)"
      tail -5 "$b.log"
      fail=1
    elif [ $rc -ne 0 ]; then
      grep '^FAIL ' "$b.log" | tail -1 | grep . || echo "FAIL $doc:$(cat "$lf"): exit status $rc"
      grep -v '^FAIL ' "$b.log" | tail -15 | sed 's/^/    /'
      fail=1
    fi
  done
done
ncmd=$(cat commands.txt 2>/dev/null | wc -l)
nskip=$(cat skipped.txt 2>/dev/null | wc -l)
[ "$ncmd" -gt 0 ] || { echo "FAIL no command found in the docs' \`\`\`sh blocks"; fail=1; }
cat times.txt skipped.txt 2>/dev/null
[ $fail -eq 0 ] && echo "ok   $ncmd doc commands in $nrun \`\`\`sh blocks ran ($nskip marked not to run) in $(($(date +%s) - t0)) s"
exit $fail
