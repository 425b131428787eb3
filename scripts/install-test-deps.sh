#!/usr/bin/env bash
# Install what the tests need: Debian packages (PostgreSQL server, Chromium and ChromeDriver
# for the browser tests), `s3s-fs` (an S3-compatible server over a directory, for the log
# archive test crates/ojek-server/tests/logs_archive.rs) and the Python packages of the test
# validators (tools/validate/requirements.txt). Idempotent: a fast no-op when everything is
# installed.
#
# Environment: PYTHON (default python3).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$repo_root/tools/validate/requirements.txt"
python="${PYTHON:-python3}"

# Debian packages: installed only when missing (needs root, as on CI machines).
need_deb=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_deb+=(postgresql)
command -v chromium >/dev/null 2>&1 || need_deb+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_deb+=(chromium-driver)
if ((${#need_deb[@]})); then
    echo "install-test-deps: installing Debian packages: ${need_deb[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q "${need_deb[@]}" >&2; then
        apt-get update -q >&2
        apt-get install -y -q "${need_deb[@]}" >&2
    fi
fi

# s3s-fs: built from source by cargo (about 2 minutes on 2 cores), only when missing. The test
# also looks in cargo's own bin directory, which may not be on the PATH.
s3s_fs_bin="${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs"
if ! command -v s3s-fs >/dev/null 2>&1 && [ ! -x "$s3s_fs_bin" ]; then
    echo "install-test-deps: installing s3s-fs (cargo install, about 2 minutes)" >&2
    cargo install s3s-fs@0.14.1 --locked --features binary --quiet >&2
fi

if ! command -v "$python" >/dev/null 2>&1; then
    echo "install-test-deps: $python not found" >&2
    exit 1
fi

# Exit 0 when every "name==version" line of the requirements file is installed.
satisfied() {
    "$python" - "$req" <<'EOF'
import re, sys
from importlib import metadata

def norm(n):
    return re.sub(r"[-_.]+", "-", n).lower()

installed = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    if name:
        installed.setdefault(norm(name), dist.version)
missing = []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, sep, version = line.partition("==")
    if not sep:
        sys.exit(1)  # not a plain pin: let pip decide
    if installed.get(norm(name.strip())) != version.strip():
        missing.append(line)
if missing:
    print("install-test-deps: need " + ", ".join(missing), file=sys.stderr)
    sys.exit(1)
EOF
}

if satisfied 2>/dev/null; then
    exit 0
fi

echo "install-test-deps: installing Python packages from tools/validate/requirements.txt" >&2
PIP_BREAK_SYSTEM_PACKAGES=1 "$python" -m pip install --quiet --disable-pip-version-check \
    --root-user-action=ignore --no-input -r "$req"

if ! satisfied; then
    echo "install-test-deps: requirements still not satisfied after pip install" >&2
    exit 1
fi
