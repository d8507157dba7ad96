"""SnapStart's uniqueness check (pure): what two restores of one snapshot share that they
should not, from the fingerprints the restored runtimes leave (``lambdaloop.snapcheck``).

Every environment restored from a snapshot starts from the same memory. A value made at init
that should differ per environment (a random generator's state, a uuid4, a connection, cached
credentials) is then the same in all of them; the fingerprints show it as the same digest in
two restores. A function that reseeds or reopens in an after-restore hook (or makes those
values per invocation) produces different digests, or none, and gets no warning.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Finding = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Shared:
    """One piece of state that restores ``first`` and ``second`` (1-based) both hold."""

    kind: str
    where: str
    detail: str
    first: int
    second: int

    @property
    def message(self) -> str:
        restores = f"restores {self.first} and {self.second}"
        if self.kind == "random":
            return (
                f"{self.where} ({self.detail}) is in the same state in {restores}: seeded at init, it draws the "
                "same numbers in every environment restored from the snapshot. Reseed it in an after-restore "
                "hook (snapshot_restore_py.register_after_restore), or use secrets / os.urandom."
            )
        if self.kind == "uuid":
            return (
                f"{self.where} is a uuid4 made at init: {restores} (and every environment restored from the "
                "snapshot) have the same value. Make it in an after-restore hook or per invocation."
            )
        if self.kind == "socket":
            return (
                f"{self.where} (connected to {self.detail}) was opened before the snapshot and is still open in "
                f"{restores}: on Lambda its peer is gone after a restore. Close it in a before-snapshot hook and "
                "reconnect after the restore (or on first use)."
            )
        if self.kind == "credentials":
            return (
                f"{self.where}: static AWS credentials resolved at init are the same in {restores}: they are in "
                "the snapshot, may have expired by the time an environment is restored, and never refresh. "
                "Resolve them after the restore (or use a client whose credentials refresh)."
            )
        return f"{self.where} ({self.kind}) is the same in {restores}."


def shared_state(fingerprints: Iterable[Iterable[Finding]]) -> list[Shared]:
    """Each (kind, where) seen with one digest in two restores, once, with the first pair."""
    first_seen: dict[tuple[str, str, str], int] = {}
    found: dict[tuple[str, str], Shared] = {}
    for number, findings in enumerate(fingerprints, start=1):
        for finding in findings:
            kind, where, digest = finding.get("kind", ""), finding.get("where", ""), finding.get("digest", "")
            key = (kind, where, digest)
            if key in first_seen and first_seen[key] != number and (kind, where) not in found:
                found[(kind, where)] = Shared(kind, where, finding.get("detail", ""), first_seen[key], number)
            first_seen.setdefault(key, number)
    return list(found.values())


def read_fingerprint(directory: str, pid: int) -> tuple[list[Finding], float] | None:
    """What the restored process ``pid`` left (its findings, and the milliseconds the check
    took); None if it left nothing readable."""
    try:
        with open(os.path.join(directory, f"{pid}.json")) as f:
            value = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("findings"), list):
        return None
    check_ms = value.get("check_ms")
    findings: list[Finding] = [
        {str(k): str(v) for k, v in item.items()} for item in value["findings"] if isinstance(item, dict)
    ]
    return findings, float(check_ms) if isinstance(check_ms, (int, float)) else 0.0
