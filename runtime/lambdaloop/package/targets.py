"""What Lambda runs: architectures, Python versions, the glibc under each, and size limits."""

from __future__ import annotations

from dataclasses import dataclass

from . import PackageError

# Lambda's architecture name -> the machine name in wheel tags and ELF headers.
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}
# Managed Python runtimes (python3.10 ... python3.14) and the glibc minor of the OS under each:
# 3.10 and 3.11 run on Amazon Linux 2 (glibc 2.26), 3.12 and later on Amazon Linux 2023 (2.34).
GLIBC = {"3.10": 26, "3.11": 26, "3.12": 34, "3.13": 34, "3.14": 34}
# The oldest manylinux glibc per machine (aarch64 wheels start at manylinux2014 = glibc 2.17).
OLDEST_GLIBC = {"x86_64": 5, "aarch64": 17}
PYTHONS = tuple(GLIBC)

# Lambda's quotas: a zip uploaded directly (larger ones go through S3), and the function plus
# all its layers once unzipped.
ZIPPED_DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024
UNZIPPED_LIMIT = 250 * 1024 * 1024


@dataclass(frozen=True)
class Target:
    arch: str  # Lambda's name: x86_64 | arm64
    python: str  # "3.12"

    @property
    def machine(self) -> str:
        return ARCHES[self.arch]

    @property
    def platform(self) -> str:
        return f"manylinux_2_{GLIBC[self.python]}_{self.machine}"

    @property
    def platforms(self) -> list[str]:
        """Every manylinux tag that loads on the target, newest first. pip does not widen a
        manylinux_2_N platform to the older ones by itself (only the legacy manylinux2014 name
        to manylinux2010/manylinux1), so they are all named."""
        newest, oldest = GLIBC[self.python], OLDEST_GLIBC[self.machine]
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in range(newest, oldest - 1, -1)]
        return [*tags, f"manylinux2014_{self.machine}"]

    @property
    def cpython_tag(self) -> str:
        return "cp" + self.python.replace(".", "")

    def describe(self) -> str:
        return f"Python {self.python} on {self.arch} ({self.cpython_tag}, {self.platform} or older)"


def parse_target(arch: str, python: str) -> Target:
    if arch not in ARCHES:
        raise PackageError(f"unknown architecture {arch!r}: Lambda runs {' and '.join(ARCHES)}")
    if python not in GLIBC:
        raise PackageError(f"unknown Python {python!r}: Lambda's Python runtimes are {', '.join(PYTHONS)}")
    return Target(arch, python)
