#!/usr/bin/env bash
# Install the AWS emulators and checkers used by the tests into project-local venvs:
#   .venv/ministack  (PyPI ministack, the default emulator)
#   .venv/moto       (PyPI moto[server], for APIs ministack lacks)
#   .venv/fixtures   (PyPI pyarrow: S3 Inventory fixtures written by no code of ours)
#   .venv/cfn-lint   (PyPI cfn-lint: spot-stack's templates must pass it, and
#                     its PyYAML reads back the YAML spot-stack writes)
# Idempotent: a venv whose pinned version is already installed is left alone.
# Safe to run concurrently: installs are serialised with flock on .venv/.lock.
set -euo pipefail

MINISTACK_VERSION="1.5.33"
MOTO_VERSION="5.2.5"
PYARROW_VERSION="26.0.1"
CFN_LINT_VERSION="1.58.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venvs="$root/.venv"
python="${PYTHON:-python3}"
mkdir -p "$venvs"

# Pinned spec per venv; a stamp file records what was installed successfully.
install_venv() {
    local name="$1" spec="$2" bin="$3"
    local dir="$venvs/$name" stamp="$venvs/$name/.installed"
    if [[ -x "$dir/bin/$bin" && -f "$stamp" && "$(cat "$stamp")" == "$spec" ]]; then
        return 0
    fi
    echo "setup-emulators: installing $spec into $dir" >&2
    rm -rf "$dir"
    "$python" -m venv "$dir"
    "$dir/bin/python" -m pip install --disable-pip-version-check --no-input --quiet "$spec"
    if [[ ! -x "$dir/bin/$bin" ]]; then
        echo "setup-emulators: $spec installed but $dir/bin/$bin is missing" >&2
        exit 1
    fi
    printf '%s' "$spec" >"$stamp"
}

exec 9>"$venvs/.lock"
flock 9
install_venv ministack "ministack==$MINISTACK_VERSION" ministack
install_venv moto "moto[server]==$MOTO_VERSION" moto_server
install_venv cfn-lint "cfn-lint==$CFN_LINT_VERSION" cfn-lint
# An independent writer of S3 Inventory fixtures (crates/mc-testkit/python).
install_venv fixtures "pyarrow==$PYARROW_VERSION" python
