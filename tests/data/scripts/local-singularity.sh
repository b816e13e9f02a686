#!/bin/bash
# qxub 0.0-test job script, submitted from laptop
# options: --mem 16GB --cpus 4 --runtime 2h
# command: python3 train.py --lr 0.1 'a b' 'it'"'"'s' '$HOME' 'new\nline'
# context: singularity

__qxub_log=/state/qxub/jobs/J
__qxub_finish() {
    __qxub_rc=$?
    printf '%s\n' "$__qxub_rc" > "$__qxub_log/exit_code.tmp"
    mv -f "$__qxub_log/exit_code.tmp" "$__qxub_log/exit_code"
}
trap __qxub_finish EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
exec >/state/qxub/jobs/J/stdout 2>/state/qxub/jobs/J/stderr
printf '%s\n' "${EPOCHREALTIME:-$(date +%s)}" > "$__qxub_log/started"
export PYTHONUNBUFFERED=1

# context: singularity
if command -v singularity >/dev/null 2>&1; then __qxub_sif=singularity
elif command -v apptainer >/dev/null 2>&1; then __qxub_sif=apptainer
else
    echo "qxub: neither singularity nor apptainer is on PATH on $(hostname)" >&2
    exit 127
fi

cd -- '/home/me/my project' || exit 1
export OMP_NUM_THREADS=4
export TAG='x y'

# --pre
__qxub_pre() {
echo starting
}
__qxub_pre || exit $?

# the command
"$__qxub_sif" exec --bind /scratch --bind /g/data:/data /images/tools.sif python3 train.py --lr 0.1 'a b' 'it'"'"'s' '$HOME' 'new
line'
__qxub_cmd_rc=$?

# --post (runs whatever the command's exit code)
echo done
exit $__qxub_cmd_rc
