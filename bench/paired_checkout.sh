#!/bin/bash
# Paired checkout benchmark: the code at BEFORE (a commit, checked out in a worktree) and this tree take turns,
# three pairs. Usage: BEFORE=<commit> bash bench/paired_checkout.sh   (needs the benchmark database, see README)
set -u
ROOTDIR=$(cd "$(dirname "$0")/.." && pwd)
WT=${WT:-/tmp/mc-before}
[ -d "$WT" ] || git -C "$ROOTDIR" worktree add -q "$WT" "${BEFORE:?set BEFORE to a commit}"
ln -sfn "$ROOTDIR/.venv" "$WT/.venv"
export $("$ROOTDIR/.venv/bin/python" "$ROOTDIR/bench/common.py")
for i in 1 2 3; do
  for side in before after; do
    if [ $side = before ]; then dir=$WT; else dir=$ROOTDIR; fi
    echo "=== run $i $side $(date +%H:%M:%S)"
    (cd $dir && PYTHONPATH=$dir/src flock /tmp/bench.lock "$ROOTDIR/.venv/bin/python" bench/bench_checkout.py --plain-reference 2>&1 | tail -25)
  done
done
echo PAIRED_DONE
