#!/usr/bin/env bash
# Captions a photo collection on several machines with Slurm: a job array of
# N tasks, task K running `glimpse caption --shard K/N` into its own file,
# then one job, started when the array has finished, merging the parts.
#
#   demos/caption-slurm.sh PHOTOS OUT.jsonl N [glimpse options...]
#   e.g. GLIMPSE=/opt/glimpse/bin/glimpse demos/caption-slurm.sh /shared/photos /shared/captions.jsonl 8 \
#          -m /shared/models/smolvlm --max-tokens 64
#
# PHOTOS and OUT's folder must be on a file system every node sees. Each
# task writes OUT.part-K-of-N; a task that is preempted, requeued or killed
# and run again continues where it stopped (the same command resumes).
# Exit status 3 (finished, some images have an error record) counts as done.
# Slurm's own options (partition, account, time) come from the environment
# (SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT) or sbatch's defaults.
set -euo pipefail
GLIMPSE=${GLIMPSE:-glimpse}

case "${1:-}" in
task) # on a node, as array task SLURM_ARRAY_TASK_ID (1..N)
  shift
  photos="$1" out="$2" n="$3"
  shift 3
  k=$SLURM_ARRAY_TASK_ID
  rc=0
  "$GLIMPSE" caption "$photos" --shard "$k/$n" -o "$out.part-$k-of-$n" ${SLURM_CPUS_PER_TASK:+-t "$SLURM_CPUS_PER_TASK"} \
    "$@" || rc=$?
  [ $rc -eq 3 ] && rc=0
  exit $rc
  ;;
merge) # after every task has finished
  out="$2" n="$3"
  parts=()
  for k in $(seq 1 "$n"); do parts+=("$out.part-$k-of-$n"); done
  exec "$GLIMPSE" caption --merge "$out" "${parts[@]}"
  ;;
esac

if [ $# -lt 3 ]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
photos="$1" out="$2" n="$3"
shift 3
script=$(realpath "$0")
cpus=${CPUS_PER_TASK:-8}
array=$(sbatch --parsable --job-name=glimpse-caption --array="1-$n" --cpus-per-task="$cpus" --requeue \
  --output="$out.part-%a-of-$n.log" "$script" task "$photos" "$out" "$n" "$@")
# afterok: the merge runs only when every task finished; after a failed task,
# fix the cause, rerun that task (it resumes), then `caption-slurm.sh merge`.
merge=$(sbatch --parsable --job-name=glimpse-caption-merge --dependency="afterok:${array%%;*}" \
  --kill-on-invalid-dep=yes --output="$out.merge.log" "$script" merge "$out" "$n")
echo "array job $array (tasks 1-$n), merge job $merge -> $out"
