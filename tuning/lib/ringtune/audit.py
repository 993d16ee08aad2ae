"""The audit behind `tuning/check`: can this host hold N connections, and if not, what blocks it?

Each item compares one reading with what N connections need and gets a status:
  OK    enough;
  WARN  N can be held, but at a cost (more rings than CPUs, dropped SYNs in a reconnect storm,
        resets on a mass close) or with a risk the host owner should know about;
  FAIL  N cannot be held as the host is set up now.
Nothing here writes anything. The numbers it works from are below, each with where it comes from.

The io_uring fixed-file rule that shapes the whole audit: RingGate keeps accepted sockets only in
each worker ring's fixed-file table, which the kernel refuses to size beyond RLIMIT_NOFILE (EMFILE)
or beyond IORING_MAX_FIXED_FILES (1 << 20). The gateway raises its soft limit to the hard limit at
start, so the hard limit is what one ring can hold, and N connections need ceil(N / that) rings.
"""

import math
from dataclasses import asdict, dataclass

from . import sysctls
from .host import CAP_SYS_RESOURCE, UNLIMITED

# Measured on Linux 6.18 (x86-64): kernel memory of an idle server-side TCP socket (~4.1 KB), and
# of an idle loopback connection, both ends on this host (~9 KB).
KERNEL_BYTES_PER_SERVER_SOCKET = 4200
KERNEL_BYTES_PER_LOOPBACK_PAIR = 9216
# io_uring per installed fixed file (a resource node, Linux 6.13+) and per table slot.
KERNEL_BYTES_PER_FIXED_FILE = 32
KERNEL_BYTES_PER_TABLE_SLOT = 8
# nf_conntrack entry (struct nf_conn plus extensions), when the module is tracking.
KERNEL_BYTES_PER_CONNTRACK_ENTRY = 320
# RingGate's budget per idle connection and per worker ring; ringload is held to the same.
USER_BYTES_PER_CONNECTION = 100
USER_BYTES_PER_RING = 1 << 20

IORING_MAX_FIXED_FILES = 1 << 20
# Beyond this many rings per CPU, scheduling and per-ring memory cost more than the rings give;
# the audit calls that a failure rather than a plan.
RINGS_PER_CPU_LIMIT = 32
# Closing a socket queues its FIN (and any unsent data), charged to tcp_mem in whole pages.
TCP_MEM_PAGES_PER_CLOSING_SOCKET = 1
# Share of MemAvailable the connections may take before the audit warns: the rest is for
# buffers of data in flight, the page cache and everything else on the host.
MEMORY_WARN_FRACTION = 0.8
# Above this many connections the kernel's default backlogs are too short for a reconnect storm.
LARGE_CONNECTION_COUNT = 100_000

# Kernel versions of the io_uring features RingGate uses.
IO_URING_FEATURES = [
    ((5, 19), "multishot accept", True),
    ((5, 19), "provided-buffer rings", True),
    ((6, 1), "DEFER_TASKRUN", False),
    ((6, 4), "multishot timeouts", False),
    ((6, 12), "incremental buffer consumption", False),
]


@dataclass
class Target:
    """What the host is asked to hold."""
    connections: int
    workers: int = None            # rings RingGate will run; None = not decided yet
    source_addresses: int = None   # client source addresses of a local load generator
    destinations: int = 1          # gateway ip:port pairs the load generator connects to
    role: str = "server"           # "server", "client" (load generator only) or "both"

    @property
    def server(self):
        return self.role in ("server", "both")

    @property
    def client(self):
        return self.role in ("client", "both")

    @property
    def sockets(self):
        """TCP sockets on this host: one per connection per side that runs here."""
        return self.connections * (int(self.server) + int(self.client))


@dataclass
class Item:
    status: str
    name: str
    current: str
    needed: str
    detail: str = ""
    fix: str = ""


def human_bytes(n):
    """1536 -> "1.5 KiB"; exact enough for a report."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def show(value):
    return "unlimited" if value == UNLIMITED else str(value)


def kernel_version(release):
    """"6.18.44-foo" -> (6, 18); None when unparsable."""
    try:
        major, minor = release.split("-")[0].split(".")[:2]
        return int(major), int(minor)
    except (AttributeError, ValueError):
        return None


class Audit:
    """Runs every check for one host and one target. `items()` returns them in report order."""

    def __init__(self, host, target):
        self.host = host
        self.t = target
        self.cpus = host.cpus()
        self.soft, self.hard = host.rlimit_nofile()
        self.ring_cap = int(min(self.hard, IORING_MAX_FIXED_FILES))
        self.rings = max(1, math.ceil(target.connections / max(1, self.ring_cap)))
        # The hard limit that lets one ring per CPU hold everything.
        self.per_cpu = min(math.ceil(target.connections / self.cpus), IORING_MAX_FIXED_FILES)
        self.planned_rings = target.workers or self.rings
        self.profile = "c1m" if target.connections <= 1_048_576 else "c10m"
        try:
            self.profile_values = dict(sysctls.load_profile(self.profile))
        except OSError:
            self.profile_values = {}
        # Entries cost memory only while the module is tracking something.
        tracked = host.sysctl_ints("net.netfilter.nf_conntrack_count")
        self.conntrack_active = bool(tracked and tracked[0] > 0)

    def items(self):
        checks = [
            self.nofile_soft, self.nofile_hard, self.workers, self.nr_open, self.file_max,
            self.memlock, self.io_uring_enabled, self.io_uring_kernel, self.io_uring_probe,
            self.memory, self.tcp_mem, self.tcp_rmem, self.tcp_wmem, self.port_range,
            self.tw_reuse, self.ehash, self.somaxconn, self.syn_backlog, self.netdev_backlog, self.orphans,
            self.keepalive, self.conntrack, self.numa,
        ]
        return [item for item in (check() for check in checks) if item is not None]

    # --- helpers -------------------------------------------------------------------------------

    def _sysctl_fix(self, key, needed, meets):
        """The profile that fixes `key` if its value `meets` the need, else a direct sysctl -w."""
        value = self.profile_values.get(key)
        if value is not None and meets(value):
            return f"tuning/apply --profile {self.profile} (sets {key} = {value})"
        return f"sysctl -w {key}='{needed}'"

    def _floor_item(self, name, key, needed, detail, status_below="WARN"):
        value = self.host.sysctl_ints(key)
        if value is None:
            return Item("WARN", name, "missing", str(needed), f"{key} is not readable on this host")
        if value[0] >= needed:
            return Item("OK", name, str(value[0]), f">={needed}", detail)
        fix = self._sysctl_fix(key, needed, lambda v: int(v) >= needed)
        return Item(status_below, name, str(value[0]), f">={needed}", detail, fix)

    def _ring_severity(self, rings):
        if rings <= self.cpus:
            return "OK"
        return "WARN" if rings <= RINGS_PER_CPU_LIMIT * self.cpus else "FAIL"

    # --- open files and rings --------------------------------------------------------------------

    def nofile_soft(self):
        return Item(
            "OK", "nofile.soft", show(self.soft), show(self.hard),
            "RingGate raises its soft RLIMIT_NOFILE to the hard limit at start; a load generator "
            "started from a shell needs `ulimit -n` at the hard limit too")

    def nofile_hard(self):
        n = self.t.connections
        status = self._ring_severity(self.rings)
        detail = (
            f"one ring's fixed-file table holds at most {self.ring_cap} sockets (io_uring refuses "
            f"a larger table: RLIMIT_NOFILE, and never more than {IORING_MAX_FIXED_FILES}), so {n} "
            f"connections need >= {self.rings} rings; {self.cpus} CPUs -> "
            f"{self.rings / self.cpus:.1f} rings per CPU")
        if status == "OK":
            return Item(status, "nofile.hard", show(self.hard), f">={self.per_cpu}", detail)
        raise_it = (f"LimitNOFILE={self.per_cpu} in ringgate.service (systemd sets it as root; "
                    f"it must be <= fs.nr_open) gives one ring per CPU")
        cap = self.host.capability(CAP_SYS_RESOURCE)
        if cap is not None and not cap["bounding"]:
            detail += ("; CAP_SYS_RESOURCE is outside this host's bounding set, so no process "
                       "here can raise the hard limit (setrlimit fails with EPERM)")
            fix = (f"run ringgate with >= {self.rings} workers (the limit is fixed here); on a "
                   f"host that allows it: {raise_it}")
        else:
            fix = (f"{raise_it}; where the hard limit cannot be raised (no CAP_SYS_RESOURCE) run "
                   f"ringgate with >= {self.rings} workers")
        return Item(status, "nofile.hard", show(self.hard), f">={self.per_cpu}", detail, fix)

    def workers(self):
        w = self.t.workers
        if w is None:
            status = "OK" if self.rings <= self.cpus else "WARN"
            detail = (
                f"workers not given: {self.t.connections} connections at {self.ring_cap} per ring "
                f"need >= {self.rings} worker rings on {self.cpus} CPUs")
            fix = "" if status == "OK" else f"start ringgate with --workers {self.rings} (or more)"
            return Item(status, "workers", "unset", f">={self.rings}", detail, fix)
        held = w * self.ring_cap
        detail = f"{w} rings x {self.ring_cap} sockets = {held} connections"
        if w < self.rings:
            return Item("FAIL", "workers", str(w), f">={self.rings}", detail,
                        f"--workers {self.rings}, or raise the hard open-file limit to "
                        f"{math.ceil(self.t.connections / w)}")
        if w > RINGS_PER_CPU_LIMIT * self.cpus:
            return Item("WARN", "workers", str(w), f"<={RINGS_PER_CPU_LIMIT * self.cpus}",
                        detail + f"; more than {RINGS_PER_CPU_LIMIT} rings per CPU",
                        "raise the hard open-file limit so fewer rings suffice")
        return Item("OK", "workers", str(w), f">={self.rings}", detail)

    def nr_open(self):
        value = self.host.sysctl_ints("fs.nr_open")
        if value is None:
            return Item("WARN", "fs.nr_open", "missing", f">={self.per_cpu}", "not readable")
        nr_open = value[0]
        detail = (f"largest hard RLIMIT_NOFILE any process may get, so one ring holds at most "
                  f"{min(nr_open, IORING_MAX_FIXED_FILES)} sockets on this host")
        if nr_open >= self.per_cpu:
            return Item("OK", "fs.nr_open", str(nr_open), f">={self.per_cpu}", detail)
        rings = math.ceil(self.t.connections / min(nr_open, IORING_MAX_FIXED_FILES))
        detail += f": {rings} rings at least"
        fix = self._sysctl_fix("fs.nr_open", self.per_cpu, lambda v: int(v) >= self.per_cpu)
        status = self._ring_severity(rings)
        return Item("WARN" if status == "OK" else status, "fs.nr_open", str(nr_open),
                    f">={self.per_cpu}", detail, fix)

    def file_max(self):
        value = self.host.sysctl_ints("fs.file-max")
        if value is None:
            return Item("WARN", "fs.file-max", "missing", "", "not readable")
        open_now = (self.host.sysctl_ints("fs.file-nr") or [0])[0]
        needed = open_now + self.t.sockets + 1024
        detail = (f"system-wide open files; every socket is one, also while it sits only in an "
                  f"io_uring table: {open_now} open now + {self.t.sockets} sockets; past it "
                  f"accept/connect fail with ENFILE (processes with CAP_SYS_ADMIN are exempt)")
        if value[0] >= needed:
            return Item("OK", "fs.file-max", str(value[0]), f">={needed}", detail)
        fix = self._sysctl_fix("fs.file-max", needed, lambda v: int(v) >= needed)
        return Item("FAIL", "fs.file-max", str(value[0]), f">={needed}", detail, fix)

    def memlock(self):
        soft, _ = self.host.rlimit_memlock()
        needed = self.planned_rings * USER_BYTES_PER_RING
        detail = ("io_uring charges memory it pins (registered buffers, buffer rings in user "
                  "memory) to RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK; ring queues are "
                  "charged to the memory cgroup since Linux 5.12")
        current = show(soft)
        if soft >= needed:
            return Item("OK", "memlock", current, f">={needed}", detail)
        return Item("WARN", "memlock", current, f">={needed}",
                    detail + f"; {self.planned_rings} rings x {human_bytes(USER_BYTES_PER_RING)}",
                    "LimitMEMLOCK=infinity in ringgate.service (memlock in limits.d/ringgate.conf "
                    "for a shell)")

    # --- io_uring --------------------------------------------------------------------------------

    def io_uring_enabled(self):
        value = self.host.sysctl("kernel.io_uring_disabled")
        if value is None:
            return Item("OK", "io_uring.enabled", "no sysctl", "0",
                        "no kernel.io_uring_disabled (added in Linux 6.6): io_uring is not "
                        "restricted by sysctl")
        if value == "0":
            return Item("OK", "io_uring.enabled", value, "0", "any process may create rings")
        fix = "sysctl -w kernel.io_uring_disabled=0"
        if value == "1":
            group = self.host.sysctl("kernel.io_uring_group") or "-1"
            return Item("WARN", "io_uring.enabled", value, "0",
                        f"only CAP_SYS_ADMIN or members of kernel.io_uring_group ({group}) may "
                        f"create rings",
                        f"SupplementaryGroups= that group in ringgate.service, or {fix}")
        return Item("FAIL", "io_uring.enabled", value, "0", "io_uring is disabled for everyone",
                    fix)

    def io_uring_kernel(self):
        release = self.host.kernel_release()
        version = kernel_version(release)
        if version is None:
            return Item("WARN", "io_uring.kernel", str(release), ">=6.1", "kernel version unknown")
        have = [name for v, name, _ in IO_URING_FEATURES if version >= v]
        missing = [f"{name} ({v[0]}.{v[1]})" for v, name, _ in IO_URING_FEATURES if version < v]
        required = [name for v, name, req in IO_URING_FEATURES if req and version < v]
        detail = "has " + (", ".join(have) or "none of RingGate's features")
        if missing:
            detail += "; missing " + ", ".join(missing)
        if required:
            return Item("FAIL", "io_uring.kernel", release, ">=5.19", detail,
                        "a kernel >= 5.19 (6.12 for every feature)")
        if version < (6, 1):
            return Item("WARN", "io_uring.kernel", release, ">=6.1", detail,
                        "a kernel >= 6.1 for DEFER_TASKRUN (6.12 for every feature)")
        return Item("OK", "io_uring.kernel", release, ">=6.1", detail)

    def io_uring_probe(self):
        probe = self.host.probe_io_uring()
        if probe is None:
            return None
        if probe["setup"] != "ok":
            return Item("FAIL", "io_uring.probe", probe["setup"], "ok",
                        f"io_uring_setup fails with {probe['setup']} for this process (seccomp "
                        f"filter of a container runtime, io_uring_disabled, or a kernel built "
                        f"without io_uring)", "allow io_uring_setup/enter/register in the "
                        "seccomp profile")
        detail = f"a 4-entry ring was created; features 0x{probe['features']:x}"
        version = kernel_version(self.host.kernel_release()) or (0, 0)
        if probe["defer_taskrun"]:
            return Item("OK", "io_uring.probe", "ok", "ok", detail + "; DEFER_TASKRUN accepted")
        status = "WARN" if version >= (6, 1) else "OK"
        return Item(status, "io_uring.probe", "ok", "ok", detail + "; DEFER_TASKRUN refused",
                    "" if status == "OK" else "check the seccomp profile and kernel config")

    # --- memory ----------------------------------------------------------------------------------

    def memory(self):
        n, t = self.t.connections, self.t
        mem = self.host.meminfo()
        available = mem.get("MemAvailable")
        parts = []
        if t.server and t.client:
            parts.append(("kernel TCP (loopback pairs)", n * KERNEL_BYTES_PER_LOOPBACK_PAIR))
        elif t.server:
            parts.append(("kernel TCP", n * KERNEL_BYTES_PER_SERVER_SOCKET))
        else:
            parts.append(("kernel TCP (client side)",
                          n * (KERNEL_BYTES_PER_LOOPBACK_PAIR - KERNEL_BYTES_PER_SERVER_SOCKET)))
        processes = int(t.server) + int(t.client)
        parts.append(("io_uring tables", processes * (
            n * KERNEL_BYTES_PER_FIXED_FILE
            + self.planned_rings * self.ring_cap * KERNEL_BYTES_PER_TABLE_SLOT)))
        if t.server:
            parts.append(("RingGate", n * USER_BYTES_PER_CONNECTION
                          + self.planned_rings * USER_BYTES_PER_RING))
        if t.client:
            parts.append(("load generator", n * USER_BYTES_PER_CONNECTION
                          + self.planned_rings * USER_BYTES_PER_RING))
        if self.conntrack_active:
            parts.append(("conntrack", n * KERNEL_BYTES_PER_CONNTRACK_ENTRY))
        total = sum(b for _, b in parts)
        detail = " + ".join(f"{name} {human_bytes(b)}" for name, b in parts)
        if available is None:
            return Item("WARN", "memory", "unknown", str(total), detail + "; no MemAvailable")
        detail += f" = {human_bytes(total)} of {human_bytes(available)} available"
        if total > available:
            return Item("FAIL", "memory", str(available), f">={total}", detail,
                        f"a host with >= {human_bytes(total / MEMORY_WARN_FRACTION)} available, "
                        f"or fewer connections per host")
        if total > MEMORY_WARN_FRACTION * available:
            return Item("WARN", "memory", str(available), f">={total}",
                        detail + f"; less than {100 - MEMORY_WARN_FRACTION * 100:.0f}% left for "
                        f"data in flight", "more memory, or fewer connections per host")
        return Item("OK", "memory", str(available), f">={total}", detail)

    def tcp_mem(self):
        value = self.host.sysctl_ints("net.ipv4.tcp_mem")
        if not value or len(value) != 3:
            return Item("WARN", "tcp_mem", "missing", "", "net.ipv4.tcp_mem not readable")
        page = self.host.page_size()
        needed = self.t.sockets * TCP_MEM_PAGES_PER_CLOSING_SOCKET
        current = " ".join(map(str, value))
        detail = (f"pages of TCP buffer memory (low pressure max); closing {self.t.sockets} "
                  f"sockets at once queues ~{TCP_MEM_PAGES_PER_CLOSING_SOCKET} page each "
                  f"({human_bytes(needed * page)}); max is {human_bytes(value[2] * page)}")
        if value[2] < needed:
            fix = self._sysctl_fix("net.ipv4.tcp_mem", f"{needed // 2} {needed * 3 // 4} {needed}",
                                   lambda v: int(v.split()[2]) >= needed)
            return Item("FAIL", "tcp_mem", current, f"max>={needed}",
                        detail + "; past max TCP allocations fail and sockets are reset "
                        "(\"TCP: out of memory\")", fix)
        total = self.host.meminfo().get("MemTotal")
        if total and value[2] * page > total:
            return Item("WARN", "tcp_mem", current, f"max>={needed}",
                        detail + f", more than MemTotal {human_bytes(total)}: the OOM killer "
                        "acts before TCP backs off", "lower tcp_mem max below MemTotal")
        return Item("OK", "tcp_mem", current, f"max>={needed}", detail)

    def _buffer_item(self, name, key):
        value = self.host.sysctl_ints(key)
        if not value or len(value) != 3:
            return Item("WARN", name, "missing", "", f"{key} not readable")
        page = self.host.page_size()
        current = " ".join(map(str, value))
        detail = (f"min is kept per socket under memory pressure ({human_bytes(value[0])} x "
                  f"{self.t.sockets} = {human_bytes(value[0] * self.t.sockets)}); default "
                  f"{human_bytes(value[1])} is each socket's starting buffer")
        if value[0] > page:
            return Item("WARN", name, current, f"min<={page}", detail,
                        self._sysctl_fix(key, f"{page} 16384 {value[2]}",
                                         lambda v: int(v.split()[0]) <= page))
        return Item("OK", name, current, f"min<={page}", detail)

    def tcp_rmem(self):
        return self._buffer_item("tcp_rmem", "net.ipv4.tcp_rmem")

    def tcp_wmem(self):
        return self._buffer_item("tcp_wmem", "net.ipv4.tcp_wmem")

    # --- client ports ----------------------------------------------------------------------------

    def port_range(self):
        value = self.host.sysctl_ints("net.ipv4.ip_local_port_range")
        if not value or len(value) != 2:
            return Item("WARN", "port_range", "missing", "", "ip_local_port_range not readable")
        lo, hi = value
        current = f"{lo} {hi}"
        if not self.t.client:
            return Item("OK", "port_range", current, "n/a",
                        "no load generator on this host (give --source-addresses K to audit "
                        "client ports)")
        k = self.t.source_addresses or 1
        d = self.t.destinations
        size = hi - lo + 1
        capacity = k * d * size
        per_address = math.ceil(self.t.connections / (k * d))
        detail = (f"{k} source address(es) x {d} destination(s) x {size} ports = {capacity} "
                  f"client connections for {self.t.connections}")
        if self.t.source_addresses is None:
            detail += " (source addresses not given: assumed 1)"
        if capacity < self.t.connections:
            full = 65535 - 1024 + 1
            addresses = math.ceil(self.t.connections / (d * full))
            widen = self._sysctl_fix("net.ipv4.ip_local_port_range", "1024 65535", lambda v: True)
            fix = (f"{widen} gives {k * d * full}; with that range use >= {addresses} source "
                   f"addresses (127.0.0.0/8 on loopback); keep the gateway's port out of the range "
                   f"(net.ipv4.ip_local_reserved_ports)")
            return Item("FAIL", "port_range", current, f"size>={per_address}", detail, fix)
        if lo < 1024:
            return Item("WARN", "port_range", current, f"size>={per_address}",
                        detail + "; the range reaches into privileged ports",
                        "start the range at 1024")
        return Item("OK", "port_range", current, f"size>={per_address}", detail)

    def tw_reuse(self):
        value = self.host.sysctl("net.ipv4.tcp_tw_reuse")
        if value is None:
            return Item("WARN", "tcp_tw_reuse", "missing", "1", "not readable")
        meaning = {"0": "off", "1": "on", "2": "loopback only"}.get(value, value)
        detail = f"reuse of TIME_WAIT ports by new outgoing connections: {meaning}"
        if self.t.client and value == "0":
            return Item("WARN", "tcp_tw_reuse", value, ">=1",
                        detail + "; a reconnecting load generator runs out of ports",
                        self._sysctl_fix("net.ipv4.tcp_tw_reuse", 1, lambda v: v != "0"))
        return Item("OK", "tcp_tw_reuse", value, ">=1" if self.t.client else "any", detail)

    # --- backlogs and teardown -------------------------------------------------------------------

    def _large(self, big, small):
        return big if self.t.connections >= LARGE_CONNECTION_COUNT else small

    def ehash(self):
        """Every arriving TCP segment finds its socket in the established hash, sized at boot."""
        value = self.host.sysctl_ints("net.ipv4.tcp_ehash_entries")
        if value is None:
            return None
        buckets = abs(value[0])  # negative in a namespace that shares the host's table
        sockets = self.t.sockets
        needed = 1 << max(0, (sockets - 1).bit_length())
        chain = sockets / max(1, buckets)
        detail = (f"{sockets} sockets in {buckets} buckets: every arriving segment walks a chain of "
                  f"about {chain:.1f} sockets (measured here: 16 % of a gateway core at 1M loopback pairs "
                  f"with chains of 8)")
        if chain <= 2:
            return Item("OK", "tcp_ehash", str(buckets), f">={needed // 2}", detail)
        return Item("WARN", "tcp_ehash", str(buckets), f">={needed}", detail,
                    f"boot with thash_entries={needed} on the kernel command line, or run the gateway in "
                    f"a network namespace made after sysctl -w net.ipv4.tcp_child_ehash_entries={needed}")

    def somaxconn(self):
        return self._floor_item(
            "somaxconn", "net.core.somaxconn", self._large(65535, 4096),
            "caps every listen() backlog; when a restart makes every client reconnect, a short "
            "accept queue drops handshakes and clients wait for SYN retries (1 s, 3 s, 7 s ...)")

    def syn_backlog(self):
        return self._floor_item(
            "tcp_max_syn_backlog", "net.ipv4.tcp_max_syn_backlog", self._large(65535, 2048),
            "half-open connections per listener before SYN cookies (which drop TCP options)")

    def netdev_backlog(self):
        return self._floor_item(
            "netdev_max_backlog", "net.core.netdev_max_backlog", self._large(16384, 1000),
            "per-CPU queue of received packets; loopback traffic passes through it, so bursts "
            "past it are dropped and retransmitted")

    def orphans(self):
        if not self.t.server:
            return None
        return self._floor_item(
            "tcp_max_orphans", "net.ipv4.tcp_max_orphans", self.t.connections,
            "closed sockets still finishing (FIN_WAIT, LAST_ACK); a graceful stop closes every "
            "connection at once and past this limit the kernel resets the rest")

    def keepalive(self):
        keys = ("tcp_keepalive_time", "tcp_keepalive_intvl", "tcp_keepalive_probes")
        values = [self.host.sysctl(f"net.ipv4.{k}") or "?" for k in keys]
        current = "/".join(values)
        try:
            reap = int(values[0]) + int(values[1]) * int(values[2])
            detail = f"a silent peer of a SO_KEEPALIVE socket is dropped after {reap} s"
        except ValueError:
            detail = "keepalive sysctls not readable"
        detail += "; RingGate's WebSocket ping finds dead peers itself"
        return Item("OK", "keepalive", current, "any", detail)

    def conntrack(self):
        maximum = self.host.sysctl_ints("net.netfilter.nf_conntrack_max")
        if maximum is None:
            return Item("OK", "conntrack", "not loaded", "n/a",
                        "nf_conntrack is not loaded: connections are not tracked")
        count = (self.host.sysctl_ints("net.netfilter.nf_conntrack_count") or [0])[0]
        buckets = (self.host.sysctl_ints("net.netfilter.nf_conntrack_buckets") or [0])[0]
        needed = self.t.connections
        detail = (f"nf_conntrack loaded, {count} flows tracked now, {buckets} buckets; each "
                  f"connection is one entry (~{KERNEL_BYTES_PER_CONNTRACK_ENTRY} B)")
        if maximum[0] >= needed:
            return Item("OK", "conntrack", str(maximum[0]), f">={needed}", detail)
        fix = self._sysctl_fix("net.netfilter.nf_conntrack_max", needed,
                               lambda v: int(v) >= needed)
        fix += "; or no stateful firewall rules on the gateway"
        detail += "; at the limit new connections are dropped (\"table full, dropping packet\")"
        if not self.conntrack_active:
            detail += "; nothing is tracked now, so the limit bites only once a rule needs it"
            return Item("WARN", "conntrack", str(maximum[0]), f">={needed}", detail, fix)
        return Item("FAIL", "conntrack", str(maximum[0]), f">={needed}", detail, fix)

    def numa(self):
        nodes = self.host.numa_nodes()
        layout = ", ".join(f"node{n}: CPUs {cpus or '?'}" for n, cpus in nodes)
        current = f"{len(nodes)} node(s)"
        if len(nodes) == 1:
            return Item("OK", "numa", current, "any", f"{layout}; no NUMA placement needed")
        detail = (f"{layout}; pin each ring to one node's CPUs, keep its memory local, and keep "
                  f"NIC interrupts on the NIC's node")
        w = self.t.workers
        if w is not None and w % len(nodes):
            return Item("WARN", "numa", current, f"workers multiple of {len(nodes)}", detail,
                        f"--workers {math.ceil(w / len(nodes)) * len(nodes)}")
        return Item("OK", "numa", current, "any", detail)


def run(host, target):
    """Audit `host` for `target`; returns (items, counts)."""
    items = Audit(host, target).items()
    counts = {s: sum(1 for i in items if i.status == s) for s in ("OK", "WARN", "FAIL")}
    return items, counts


def as_dict(item):
    return asdict(item)
