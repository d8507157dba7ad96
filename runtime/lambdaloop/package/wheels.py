"""The requirements as installed files for another platform: pip, binary wheels only.

``pip install --target`` with ``--platform``/``--python-version``/``--implementation cp`` resolves
the dependency tree for the target, not for this machine, and only accepts wheels (a source
distribution would be built for this machine, wrong for the target). pip enforces the hashes
itself when the requirements file carries any (it then requires them for every requirement).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from . import PackageError
from .requirements import Requirements
from .targets import Target

NO_DISTRIBUTION = re.compile(r"No matching distribution found for (.+)")
IGNORED_LOCATION = re.compile(r"WARNING: Location '.*' is ignored")
NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement (\S+)")


def pip_target_args(target: Target) -> list[str]:
    platforms = [arg for platform in target.platforms for arg in ("--platform", platform)]
    return [*platforms, "--python-version", target.python, "--implementation", "cp", "--only-binary=:all:"]


def install_requirements(requirements: Requirements, target: Target, dest: Path) -> None:
    """Install into dest (empty). --no-compile: .pyc come later, for the target's version."""
    if requirements.file is None:
        dest.mkdir(parents=True, exist_ok=True)
        return
    cmd = [
        sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--no-input",
        "--target", str(dest), "--no-compile", "--no-warn-script-location", *pip_target_args(target),
        "-r", str(requirements.file),
    ]  # fmt: skip
    # The user's PYTHONPATH or a virtualenv's PIP_* settings must not decide what is shipped.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_TARGET", "PIP_PREFIX", "PIP_USER")}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=requirements.file.parent)
    if result.returncode != 0:
        raise PackageError(explain_pip_failure(result.stderr + result.stdout, requirements, target))


def explain_pip_failure(output: str, requirements: Requirements, target: Target) -> str:
    """pip's failure in one sentence the user can act on, pip's own words after it."""
    # pip's warnings about this machine's index configuration say nothing about the failure.
    lines = [line for line in output.strip().splitlines() if line.strip() and not IGNORED_LOCATION.match(line)]
    tail = "\n".join(lines[-12:])
    missing = NO_DISTRIBUTION.search(output) or NO_VERSION.search(output)
    if "require-hashes mode" in output:
        headline = (
            f"{requirements.source} carries hashes, so every requirement (dependencies too) "
            "needs a pinned version and a hash"
        )
    elif "DO NOT MATCH THE HASHES" in output:
        headline = f"a downloaded file does not match the hash in {requirements.source}"
    elif missing:
        name = missing.group(1).strip().rstrip(".")
        headline = (
            f"no wheel of {name} for {target.describe()}: pip found no binary build for this target "
            "(a source-only package, or one that does not support this Python or architecture)"
        )
    else:
        headline = f"pip could not install {requirements.source} for {target.describe()}"
    return f"{headline}\npip said:\n{tail}"
