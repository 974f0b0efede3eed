#!/usr/bin/env bash
# Deletes rustnet log files (logs/rustnet_*.log) older than N days.
#
#   scripts/clear_old_logs.sh [-n] [-d DAYS] [LOG_DIR]
#
#   -n        dry run: list what would be deleted, delete nothing
#   -d DAYS   age limit in whole days (default 7): files last modified more
#             than DAYS*24 hours ago are deleted
#   LOG_DIR   directory holding the logs (default: ./logs)
#
# Only regular files named rustnet_*.log directly in LOG_DIR are touched (no
# recursion, no symlinks followed). A missing LOG_DIR or no logs is not an error.
set -euo pipefail

usage() { echo "usage: $0 [-n] [-d DAYS] [LOG_DIR]" >&2; exit 2; }

dry_run=0
days=7
while getopts ":nd:h" opt; do
    case "$opt" in
        n) dry_run=1 ;;
        d) days=$OPTARG ;;
        h) usage ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
dir=${1:-logs}
case "$days" in
    ''|*[!0-9]*) echo "$0: DAYS must be a whole number, got '$days'" >&2; exit 2 ;;
esac

if [ ! -d "$dir" ]; then
    echo "no log directory $dir: nothing to do"
    exit 0
fi

# find -mtime +N means "more than N*24h old" after rounding down, i.e. at least
# (N+1) days; -mmin is exact: older than DAYS*1440 minutes.
count=0
while IFS= read -r -d '' f; do
    count=$((count + 1))
    if [ "$dry_run" -eq 1 ]; then
        echo "would delete $f"
    else
        rm -f -- "$f"
        echo "deleted $f"
    fi
done < <(find "$dir" -maxdepth 1 -type f -name 'rustnet_*.log' -mmin +$((days * 1440)) -print0)

if [ "$dry_run" -eq 1 ]; then
    echo "$count log file(s) older than $days day(s) would be deleted from $dir"
else
    echo "$count log file(s) older than $days day(s) deleted from $dir"
fi
