"""Sysctl profiles: load them, apply them, and put the host back as it was.

A profile is a sysctl.d file (`key = value` lines, `#` or `;` comments) in tuning/sysctl.d, named
90-ringgate-<name>.conf. `apply` writes each key through /proc/sys under the host root and records
the value it replaced in a state file; `revert` writes the recorded values back and removes the
file.

Rules that make the pair safe to run repeatedly:
- The state file holds the value from before the FIRST apply. A key already recorded is never
  recorded again, so applying twice, or applying c1m then c10m, still reverts to the original host.
- The previous value is saved (atomically) before a key is written, so a crash between the two
  leaves a state file that restores the host; a write that fails is taken out of the state again.
- Single-number limits (FLOOR_KEYS) are only raised: a host that already allows more keeps its
  value.
- A key the host does not have (nf_conntrack_* without the module) is skipped with a note. A key
  that cannot be written is reported and the run continues; the exit status is 1 at the end.
"""

import os
import tempfile

from .host import normalize, sysctl_path

PROFILE_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "sysctl.d"))
DEFAULT_STATE = "/var/lib/ringgate-tuning/previous.conf"

# Limits where more is never worse for RingGate: apply raises them and leaves higher values alone.
FLOOR_KEYS = frozenset({
    "fs.nr_open",
    "fs.file-max",
    "net.core.somaxconn",
    "net.core.netdev_max_backlog",
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.tcp_max_orphans",
    "net.ipv4.tcp_max_tw_buckets",
    "net.netfilter.nf_conntrack_max",
    "net.netfilter.nf_conntrack_buckets",
})


def profile_path(name):
    """Path of profile `name` ("c1m"), or `name` itself when it is a path to a file."""
    if os.sep in name or name.endswith(".conf"):
        return name
    return os.path.join(PROFILE_DIR, f"90-ringgate-{name}.conf")


def profile_names():
    """Names of the profiles shipped in tuning/sysctl.d."""
    names = []
    for entry in sorted(os.listdir(PROFILE_DIR)):
        if entry.startswith("90-ringgate-") and entry.endswith(".conf"):
            names.append(entry[len("90-ringgate-"):-len(".conf")])
    return names


def parse_conf(text):
    """`key = value` lines of a sysctl.d or state file, in order, as [(key, normalized value)]."""
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"line {number}: expected key = value: {line!r}")
        # A leading '-' in sysctl.d means "ignore failure"; apply always carries on anyway.
        pairs.append((key.strip().lstrip("-").replace("/", "."), normalize(value)))
    return pairs


def load_profile(name):
    """The (key, value) pairs of profile `name`; raises OSError when there is no such profile."""
    with open(profile_path(name)) as f:
        return parse_conf(f.read())


def load_state(path):
    """The recorded previous values as an ordered dict, or {} when there is no state file."""
    try:
        with open(path) as f:
            return dict(parse_conf(f.read()))
    except FileNotFoundError:
        return {}


def save_state(path, state, note):
    """Write `state` atomically (temp file + rename); remove the file when `state` is empty."""
    if not state:
        if os.path.exists(path):
            os.unlink(path)
        return
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    lines = [
        "# Values these sysctls had before tuning/apply first changed them.",
        f"# {note}",
        "# tuning/revert writes them back and deletes this file.",
    ]
    lines += [f"{key} = {value}" for key, value in state.items()]
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".previous-")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def write_sysctl(root, key, value):
    """Write `value` to sysctl `key` and return the value the kernel now reports."""
    path = sysctl_path(root, key)
    with open(path, "w") as f:
        f.write(value + "\n")
    with open(path) as f:
        return normalize(f.read())


def read_sysctl(root, key):
    try:
        with open(sysctl_path(root, key)) as f:
            return normalize(f.read())
    except OSError:
        return None


def _keeps_higher(key, current, wanted):
    if key not in FLOOR_KEYS:
        return False
    try:
        return int(current) >= int(wanted)
    except ValueError:
        return False


def apply_profile(root, name, state_path, dry_run, out):
    """Apply profile `name` under `root`, printing `key: before -> after`; returns exit status."""
    pairs = load_profile(name)
    state = load_state(state_path)
    failures = 0
    mode = " (dry run)" if dry_run else ""
    print(f"apply: profile {name} ({profile_path(name)}), state {state_path}{mode}", file=out)
    for key, wanted in pairs:
        current = read_sysctl(root, key)
        if current is None:
            print(f"  {key}: skipped, not present on this host (module not loaded?)", file=out)
            continue
        if current == wanted:
            print(f"  {key}: {current} (unchanged)", file=out)
            continue
        if _keeps_higher(key, current, wanted):
            print(f"  {key}: {current} (kept: already at least {wanted})", file=out)
            continue
        if dry_run:
            print(f"  {key}: {current} -> {wanted} (dry run)", file=out)
            continue
        recorded_now = key not in state
        if recorded_now:
            state[key] = current
            save_state(state_path, state, f"recorded by apply --profile {name}")
        try:
            now, error = write_sysctl(root, key, wanted), None
        except OSError as e:
            now, error = None, e.strerror or str(e)
        if now == wanted:
            print(f"  {key}: {current} -> {now}", file=out)
            continue
        failures += 1
        reason = error or f"kernel reports {now}"
        print(f"  {key}: {current} -> {wanted} FAILED: {reason}", file=out)
        if error and recorded_now:
            # The write was refused, so the host still has the recorded value: forget it again.
            del state[key]
            save_state(state_path, state, f"recorded by apply --profile {name}")
    if failures:
        print(f"apply: {failures} key(s) could not be set; the others were applied", file=out)
    elif not dry_run:
        recorded = (f"{len(state)} previous value(s) in {state_path}" if state
                    else "nothing to record")
        print(f"apply: done; {recorded}; tuning/revert restores them", file=out)
    return 1 if failures else 0


def revert_state(root, state_path, dry_run, out):
    """Write back every recorded value (last applied first); returns the exit status."""
    state = load_state(state_path)
    if not state:
        print(f"revert: nothing to revert (no state in {state_path})", file=out)
        return 0
    mode = " (dry run)" if dry_run else ""
    print(f"revert: restoring {len(state)} value(s) from {state_path}{mode}", file=out)
    failures = 0
    for key in reversed(list(state)):
        previous = state[key]
        current = read_sysctl(root, key)
        if current is None:
            print(f"  {key}: skipped, no longer present on this host", file=out)
            if dry_run:
                continue
        elif dry_run:
            print(f"  {key}: {current} -> {previous} (dry run)", file=out)
            continue
        elif current == previous:
            print(f"  {key}: {current} (already the previous value)", file=out)
        else:
            try:
                now, error = write_sysctl(root, key, previous), None
            except OSError as e:
                now, error = None, e.strerror or str(e)
            if now != previous:
                failures += 1
                reason = error or f"kernel reports {now}"
                print(f"  {key}: {current} -> {previous} FAILED: {reason}", file=out)
                continue
            print(f"  {key}: {current} -> {now}", file=out)
        del state[key]
        save_state(state_path, state, "left by an incomplete revert")
    if dry_run:
        return 0
    if failures:
        print(f"revert: {failures} key(s) not restored; they stay in {state_path}", file=out)
        return 1
    print(f"revert: done; {state_path} removed", file=out)
    return 0
