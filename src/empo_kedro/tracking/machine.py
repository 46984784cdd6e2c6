"""What machine a run used (CPU model, cores, threads, GPU, memory), for run tags and reports."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

CPUINFO = Path("/proc/cpuinfo")
MEMINFO = Path("/proc/meminfo")


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in CPUINFO.read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def memory_gib() -> float | None:
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def resident_memory_gib() -> float | None:
    """This process's resident memory now (Linux), to see whether a long loop of trials grows."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**30, 2)


def machine_tags() -> dict[str, str]:
    """``machine.*`` tags: CPU model, logical cores usable by this process, torch threads, GPU, memory, versions."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    tags = {
        "machine.cpu": cpu_model(),
        "machine.cores": str(cores),
        "machine.torch_threads": str(torch.get_num_threads()),
        "machine.gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "machine.python": platform.python_version(),
        "machine.torch": torch.__version__,
    }
    memory = memory_gib()
    if memory is not None:
        tags["machine.memory_gib"] = str(memory)
    return tags
