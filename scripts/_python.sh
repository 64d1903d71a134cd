# Sourced by the scripts: picks a Python >= 3.11 and makes sure .venv exists.
# shellcheck shell=bash

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [[ -n "$candidate" ]] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

ensure_venv() {
    if [[ ! -x .venv/bin/python ]]; then
        local python
        python="$(find_python)"
        echo "Creating .venv with $python" >&2
        "$python" -m venv .venv
    fi
}
