# Shared by the fixture scripts that run in the two-namespace lab
# (make_app_fixtures.sh, make_netem_fixture.sh, make_vxlan_fixture.sh):
# where things are, the root and tool checks, a temporary folder, the
# background processes and the clean-up that stops them and takes the lab
# down. Source it after `set -euo pipefail` with LAB_PREFIX exported, then
# call `lab_init SCRIPT TOOL...`.
#
# Sets: HERE (tests/lab), ROOT, OUT (FIXTURES_OUT, default tests/fixtures),
# PY (PYTHON, default python3), TRUTH (MAKE_TRUTH), NS_C NS_S IF_C IF_S,
# SRV4 (10.77.0.2), T (the temporary folder), PIDS (append background
# servers), CAP_PID (the running tcpdump, or empty); in_cli/in_srv run a
# command in a namespace, IN_CLI/IN_SRV are the same as arrays for
# background jobs (`func &` would fork a subshell, so $! would be wrong).

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="${FIXTURES_OUT:-$ROOT/tests/fixtures}"
PY="${PYTHON:-python3}"
TRUTH="${MAKE_TRUTH:-/work/shared/pcaps/make_truth.py}"
NS_C="$LAB_PREFIX-cli"; NS_S="$LAB_PREFIX-srv"
IF_C="$LAB_PREFIX-veth-c"; IF_S="$LAB_PREFIX-veth-s"
SRV4=10.77.0.2
PIDS=()
CAP_PID=
IN_CLI=(ip netns exec "$NS_C")
IN_SRV=(ip netns exec "$NS_S")
in_cli() { ip netns exec "$NS_C" "$@"; }
in_srv() { ip netns exec "$NS_S" "$@"; }

lab_cleanup() {
    set +e
    [ -n "$CAP_PID" ] && kill -TERM "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    "$HERE/netns.sh" down
    rm -rf "$T"
}

# lab_init SCRIPT TOOL...: fails unless root and every TOOL is on PATH;
# makes the temporary folder and arms the clean-up.
lab_init() {
    local name=$1 t
    shift
    [ "$(id -u)" = 0 ] || { echo "$name: run as root (sudo)" >&2; exit 1; }
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "$name: missing $t" >&2; exit 1; }
    done
    T=$(mktemp -d "/tmp/rn-$LAB_PREFIX.XXXXXX")
    chmod 755 "$T"
    trap lab_cleanup EXIT
    trap 'exit 130' INT TERM
}
