"""CPU time of another process (the local server's), for the benches to report beside
wall time: on two CPUs shared by the server and the client, the side that spends more CPU
is the one the run waits on."""

from __future__ import annotations

import os


def cpu_seconds(pid: int | None) -> float | None:
    """The CPU time (user and system) process `pid` has used, from Linux's `/proc`; None
    where it cannot be read (another system, or no such process)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
