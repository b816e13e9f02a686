#!/bin/bash
# qxub 0.0-test job script, submitted from laptop
# options: --mem 16GB --cpus 4 --runtime 2h
# command: python3 train.py --lr 0.1 'a b' 'it'"'"'s' '$HOME' 'new\nline'
# context: conda

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

# context: conda
if ! command -v conda >/dev/null 2>&1; then
    echo "qxub: conda is not on PATH on $(hostname); load it with --mod or fix your PATH" >&2
    exit 127
fi
eval "$(conda shell.bash hook)"
conda activate pytorch || { echo 'qxub: conda activate pytorch failed' >&2; exit 1; }

cd -- '/home/me/my project' || exit 1
export OMP_NUM_THREADS=4
export TAG='x y'

# --pre
__qxub_pre() {
echo starting
}
__qxub_pre || exit $?

# the command
python3 train.py --lr 0.1 'a b' 'it'"'"'s' '$HOME' 'new
line'
__qxub_cmd_rc=$?

# --post (runs whatever the command's exit code)
echo done
exit $__qxub_cmd_rc
