"""A SnapStart function that keeps per-environment state per environment: everything that must
differ between environments restored from one snapshot is made again after the restore.

Try it: init and the before-snapshot hook once, then two environments restored from that
snapshot, each invoked once (and a warning for any state the two share)::

    lambdaloop invoke examples/snapstart.handler --snapstart --restores 2
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from snapshot_restore_py import register_after_restore, register_before_snapshot

# Heavy, shareable work belongs at init, before the snapshot: it is what SnapStart saves.
CATALOGUE = {f"sku-{n}": n * 100 for n in range(1000)}

# Per-environment state: made at init (the function must also work without SnapStart), and
# made again in every restored environment.
sampler = random.Random()
environment_id = str(uuid.uuid4())


@register_before_snapshot
def before_snapshot() -> None:
    # Close connections here (their peer is gone after a restore); nothing is open in this one.
    print("before snapshot: catalogue of", len(CATALOGUE), "items ready")


@register_after_restore
def after_restore() -> None:
    global environment_id
    sampler.seed()  # lambdaloop reseeds the module-level `random`; your own generators are yours
    environment_id = str(uuid.uuid4())
    print("restored as", environment_id)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    sku = event.get("sku", "sku-7")
    return {"environment": environment_id, "price": CATALOGUE.get(sku), "sample": sampler.random()}
