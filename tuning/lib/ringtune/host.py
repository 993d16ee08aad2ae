"""A read-only view of one host: sysctls, /proc/meminfo, CPUs, NUMA nodes, rlimits, io_uring.

Every read goes through `Host`, rooted at `root` ("/" for the running host). Tests point `root` at a
fake tree holding the same relative paths (proc/sys/..., proc/meminfo, sys/devices/system/...) and
pass rlimits explicitly, so the audit can be exercised against known values. The io_uring probe is
the only thing that touches the running kernel rather than the tree; it is off for fake roots.
"""

import ctypes
import errno
import math
import os
import resource

# RLIM_INFINITY is carried as math.inf so that comparisons need no special case.
UNLIMITED = math.inf


def sysctl_path(root, key):
    """Path of sysctl `key` ("net.core.somaxconn") under `root`."""
    return os.path.join(root, "proc", "sys", *key.split("."))


def normalize(value):
    """A sysctl value with its whitespace collapsed: "32768\t60999\n" -> "32768 60999"."""
    return " ".join(value.split())


def parse_rlimit(text):
    """Parse "SOFT:HARD" (each a number, "unlimited" or "infinity") into a (soft, hard) pair."""
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"expected SOFT:HARD, got {text!r}")
    return tuple(_parse_limit(p) for p in parts)


def _parse_limit(text):
    if text.strip().lower() in ("unlimited", "infinity", "inf"):
        return UNLIMITED
    return int(text)


def _from_getrlimit(pair):
    return tuple(UNLIMITED if v == resource.RLIM_INFINITY else v for v in pair)


def parse_cpu_list(text):
    """Count the CPUs in a kernel cpulist ("0-3,8,10-11" -> 7); empty text counts 0."""
    count = 0
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        count += int(hi or lo) - int(lo) + 1
    return count


class Host:
    """Readings of one host. Reads are not cached: `apply` and `check` may interleave."""

    def __init__(self, root="/", nofile=None, memlock=None, probe=None):
        """`nofile`/`memlock`: (soft, hard) overrides; `probe` defaults to True only for "/"."""
        self.root = root
        self.is_live = os.path.realpath(root) == "/"
        self._nofile = nofile
        self._memlock = memlock
        self.probe_enabled = self.is_live if probe is None else probe

    def read(self, *relative):
        """Text of a file under the root, or None when it does not exist or cannot be read."""
        try:
            with open(os.path.join(self.root, *relative)) as f:
                return f.read()
        except OSError:
            return None

    def sysctl(self, key):
        """The normalized value of sysctl `key`, or None when the host has no such key."""
        try:
            with open(sysctl_path(self.root, key)) as f:
                return normalize(f.read())
        except OSError:
            return None

    def sysctl_ints(self, key):
        """The integer fields of sysctl `key` ("4096 16384 4194304" -> [4096, 16384, 4194304])."""
        value = self.sysctl(key)
        if value is None:
            return None
        try:
            return [int(v) for v in value.split()]
        except ValueError:
            return None

    def meminfo(self):
        """/proc/meminfo as a dict of bytes ("MemAvailable" -> 24945569792)."""
        text = self.read("proc", "meminfo") or ""
        out = {}
        for line in text.splitlines():
            name, _, rest = line.partition(":")
            fields = rest.split()
            if fields and fields[0].isdigit():
                scale = 1024 if len(fields) > 1 and fields[1] == "kB" else 1
                out[name.strip()] = int(fields[0]) * scale
        return out

    def cpus(self):
        """Number of online CPUs (sys/devices/system/cpu/online), at least 1."""
        text = self.read("sys", "devices", "system", "cpu", "online")
        if text is None and self.is_live:
            return os.cpu_count() or 1
        return max(1, parse_cpu_list(text or ""))

    def numa_nodes(self):
        """Online NUMA nodes as [(node id, cpulist text)]; no node tree means one node."""
        base = ("sys", "devices", "system", "node")
        online = self.read(*base, "online")
        if online is None:
            return [(0, (self.read("sys", "devices", "system", "cpu", "online") or "").strip())]
        nodes = []
        for part in online.strip().split(","):
            lo, _, hi = part.partition("-")
            for node in range(int(lo), int(hi or lo) + 1):
                cpulist = (self.read(*base, f"node{node}", "cpulist") or "").strip()
                nodes.append((node, cpulist))
        return nodes

    def kernel_release(self):
        """The kernel release string ("6.18.44-..."), from proc/sys/kernel/osrelease."""
        value = self.sysctl("kernel.osrelease")
        if value is None and self.is_live:
            value = os.uname().release
        return value

    def page_size(self):
        """Bytes per page; a fake tree assumes 4096 (x86-64 and most arm64 hosts)."""
        return os.sysconf("SC_PAGE_SIZE") if self.is_live else 4096

    def rlimit_nofile(self):
        """(soft, hard) RLIMIT_NOFILE of this process, or the injected override."""
        return self._nofile or _from_getrlimit(resource.getrlimit(resource.RLIMIT_NOFILE))

    def rlimit_memlock(self):
        """(soft, hard) RLIMIT_MEMLOCK of this process, or the injected override."""
        return self._memlock or _from_getrlimit(resource.getrlimit(resource.RLIMIT_MEMLOCK))

    def capability(self, bit):
        """Whether capability `bit` is in this process's effective and bounding sets.

        Returns {"effective": bool, "bounding": bool}, or None when proc/self/status is missing.
        A capability outside the bounding set cannot be gained by any process started here
        (a container that dropped it), which makes limits guarded by it fixed.
        """
        text = self.read("proc", "self", "status")
        if text is None:
            return None
        sets = {}
        for line in text.splitlines():
            name, _, value = line.partition(":")
            if name in ("CapEff", "CapBnd"):
                sets[name] = bool(int(value.strip(), 16) >> bit & 1)
        if len(sets) != 2:
            return None
        return {"effective": sets["CapEff"], "bounding": sets["CapBnd"]}

    def probe_io_uring(self):
        """Create and close two tiny rings; None when probing is off (fake roots)."""
        return probe_io_uring() if self.probe_enabled else None


CAP_SYS_RESOURCE = 24  # needed to raise a hard rlimit

# io_uring_setup(2) is syscall 425 in the unified syscall table (x86-64, arm64, riscv64, ...).
_NR_IO_URING_SETUP = 425
_SETUP_SINGLE_ISSUER = 1 << 12  # Linux 6.0
_SETUP_DEFER_TASKRUN = 1 << 13  # Linux 6.1
_PARAMS_SIZE = 120  # sizeof(struct io_uring_params)
_PARAMS_FLAGS_OFFSET = 8
_PARAMS_FEATURES_OFFSET = 20


def probe_io_uring():
    """Try io_uring_setup(4 entries) plainly and with SINGLE_ISSUER|DEFER_TASKRUN.

    Returns {"setup": errno-name or "ok", "defer_taskrun": bool, "features": int}. This sees what
    seccomp filters, io_uring_disabled and the kernel actually allow for this process.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError as e:
        return {"setup": f"no libc ({e})", "defer_taskrun": False, "features": 0}
    libc.syscall.restype = ctypes.c_long

    def setup(flags):
        params = ctypes.create_string_buffer(_PARAMS_SIZE)
        ctypes.c_uint32.from_buffer(params, _PARAMS_FLAGS_OFFSET).value = flags
        fd = libc.syscall(ctypes.c_long(_NR_IO_URING_SETUP), ctypes.c_uint(4), params)
        if fd < 0:
            return None, ctypes.get_errno()
        features = ctypes.c_uint32.from_buffer(params, _PARAMS_FEATURES_OFFSET).value
        os.close(fd)
        return features, 0

    features, err = setup(0)
    if features is None:
        name = errno.errorcode.get(err, str(err))
        return {"setup": name, "defer_taskrun": False, "features": 0}
    deferred, _ = setup(_SETUP_SINGLE_ISSUER | _SETUP_DEFER_TASKRUN)
    return {"setup": "ok", "defer_taskrun": deferred is not None, "features": features}
