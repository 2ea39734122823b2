# Shared by scripts/start and scripts/test (sourced, not run): the virtual
# environment in .venv and the installation of the project into it.
#
#   ensure_venv ""       # the platform
#   ensure_venv "test"   # the platform and the test tools
#
# pip runs only when pyproject.toml (or the Python) changed since the last
# successful install; its output is shown only when it fails.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CLOSEDLOOP_VENV:-$ROOT/.venv}"

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_venv() {
    local extras="$1" spec="." python stamp wanted log
    [ -n "$extras" ] && spec=".[$extras]"
    if [ ! -x "$VENV/bin/python" ]; then
        python="$(find_python)" || die "closedloop needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)."
        say "Creating the virtual environment in ${VENV#"$ROOT"/} with $("$python" --version 2>&1)…"
        "$python" -m venv "$VENV" || die "could not create $VENV (on Debian/Ubuntu: apt-get install python3-venv)."
    fi
    "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$VENV has a Python older than 3.11; remove it and run again."
    stamp="$VENV/.closedloop-installed${extras:+-$extras}"
    wanted="$( (cat "$ROOT/pyproject.toml"; "$VENV/bin/python" --version) | sha256sum | cut -d' ' -f1)"
    local done_stamp
    # An install with the test tools holds the plain one too.
    for done_stamp in "$stamp" "$VENV/.closedloop-installed-test"; do
        if [ -f "$done_stamp" ] && [ "$(cat "$done_stamp")" = "$wanted" ] \
            && [ -x "$VENV/bin/closedloop" ]; then
            return 0
        fi
    done
    say "Installing closedloop${extras:+ with its $extras tools} into ${VENV#"$ROOT"/} (pip install -e '$spec')…"
    log="$(mktemp)"
    if ! (cd "$ROOT" && "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e "$spec") >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        die "pip install -e '$spec' failed (output above)."
    fi
    rm -f "$log"
    printf '%s\n' "$wanted" >"$stamp"
}

# Compile the translations when a .po is newer than its .mo (needs GNU msgfmt,
# Debian package gettext). Without msgfmt the committed .mo files are used.
compile_messages() {
    local po mo stale=0
    while IFS= read -r po; do
        mo="${po%.po}.mo"
        if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then stale=1; fi
    done < <(find "$ROOT/closedloop" -path '*/locale/*/LC_MESSAGES/*.po' 2>/dev/null)
    [ "$stale" = 1 ] || return 0
    if ! command -v msgfmt >/dev/null 2>&1; then
        say "note: translations (.po) are newer than their compiled .mo files, and msgfmt is missing" \
            "(apt-get install gettext): the interface may show English where Chinese is due."
        return 0
    fi
    (cd "$ROOT/closedloop" && CLOSEDLOOP_DATA_DIR="${CLOSEDLOOP_DATA_DIR:-$(mktemp -d)}" \
        "$VENV/bin/python" -m closedloop.cli compilemessages -v 0) || die "compiling the translations failed."
}
