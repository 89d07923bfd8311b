#!/usr/bin/env bash
# Prepares a large data set as a Slurm job array, then merges the shards.
#
#   sbatch --array=0-15 scripts/slurm-prepare.sh /data/IRMAS /scratch/features
#   sbatch --dependency=afterok:JOBID scripts/slurm-prepare.sh --merge /scratch/features
#
# Each array task prepares shard $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT into its own
# feature file (a rerun of a task resumes where it stopped); the merge step writes
# features.h5, whose /mel refers to the shards without copying them.
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
set -euo pipefail
TIMBRE=${TIMBRE:-timbre}
if [ "${1:-}" = "--merge" ]; then
    out=$2
    exec "$TIMBRE" merge "$out"/shard-*.h5 -o "$out/features.h5"
fi
input=$1 out=$2
mkdir -p "$out"
shard="${SLURM_ARRAY_TASK_ID:?run with sbatch --array}/${SLURM_ARRAY_TASK_COUNT:?}"
exec "$TIMBRE" prepare "$input" -o "$out/shard-$(printf %05d "$SLURM_ARRAY_TASK_ID").h5" --shard "$shard" -j "${SLURM_CPUS_PER_TASK:-2}"
