"""ringtune: host limits for RingGate.

Three parts, one concern each:
  host.py     reads /proc, /sys and rlimits (under a root that tests can replace)
  audit.py    turns those readings and a connection target into OK / WARN / FAIL items (read-only)
  sysctls.py  applies a sysctl profile, records the values it replaced, and restores them
The `check`, `apply` and `revert` scripts beside this package are thin wrappers over `cli.py`.
"""
