# Shared set-up for scripts/run and scripts/test: installs what is missing on
# a Debian machine, and nothing when everything is already there.

ringgate_system_packages=(liburing-dev libnuma-dev libssl-dev zlib1g-dev pkg-config python3 python3-pip)

ensure_system_packages() {
    local missing=() pkg
    for pkg in "${ringgate_system_packages[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing system packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# pip install for the python3 that runs the tests; Debian's own python3 wants
# --break-system-packages outside a virtual environment.
pip_install() {
    python3 -m pip install -q "$@" 2>/dev/null ||
        python3 -m pip install -q --break-system-packages "$@"
}

ensure_python_modules() {
    local missing=() mod
    for mod in "$@"; do
        python3 -c "import $mod" 2>/dev/null || missing+=("$mod")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing Python packages: ${missing[*]}"
    pip_install "${missing[@]}"
}

ensure_swift() {
    if ! command -v swift >/dev/null; then
        echo "swift is not on PATH: install the Swift 6 toolchain (swift.org) first" >&2
        exit 1
    fi
}
