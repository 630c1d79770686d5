"""Who used the CPU during a measure: the service, and the processes outside the benchmark."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

import psutil


def _cpu(process: psutil.Process) -> float:
    """CPU seconds of a process and of its children that have exited."""
    with contextlib.suppress(psutil.NoSuchProcess):
        times = process.cpu_times()
        return float(times.user + times.system + times.children_user + times.children_system)
    return 0.0


def _tree_cpu(pid: int) -> float:
    with contextlib.suppress(psutil.NoSuchProcess):
        process = psutil.Process(pid)
        return _cpu(process) + sum(_cpu(child) for child in process.children(recursive=True))
    return 0.0


@dataclass(frozen=True, slots=True)
class CpuReading:
    at: float
    service: float
    others: float


@dataclass(frozen=True, slots=True)
class CpuClock:
    """CPU seconds used by the service, and by everything outside the benchmark.

    Everything else on the machine takes cores from the measure: this says how much it took. The
    benchmark is this process, its children (the service, wrk, pgbench) and the PostgreSQL server
    when it runs here.
    """

    service_pids: tuple[int, ...]  # the service's processes (replicas), summed
    postmaster_pid: int | None

    def read(self) -> CpuReading:
        machine = psutil.cpu_times()
        ours = _tree_cpu(os.getpid()) + (_tree_cpu(self.postmaster_pid) if self.postmaster_pid else 0.0)
        # Kernel threads (children of kthreadd, pid 2) work for all: our fsyncs as much as anyone's.
        kernel = _tree_cpu(2) if psutil.pid_exists(2) and psutil.Process(2).name() == "kthreadd" else 0.0
        busy = machine.user + machine.nice + machine.system
        service = sum(_cpu(psutil.Process(pid)) for pid in self.service_pids if psutil.pid_exists(pid))
        return CpuReading(time.monotonic(), service, busy - ours - kernel)

    @staticmethod
    def cores(start: CpuReading, end: CpuReading) -> tuple[float, float]:
        """Cores used between two readings by the service, and by the others."""
        seconds = end.at - start.at
        return (end.service - start.service) / seconds, max(0.0, end.others - start.others) / seconds
