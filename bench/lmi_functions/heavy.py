"""A function with a heavy init: about 40 MB of Python objects and 0.3 s of CPU at import
(a model's tables, a big config, an ORM's metadata), then a handler that uses it."""

import time

_t0 = time.process_time()
# ~40 MB of small objects (dicts, strings, floats): what reference counting touches.
TABLE = [{"id": i, "name": f"item-{i:08d}", "weight": i * 0.5} for i in range(100_000)]
# The rest of the 0.3 s of CPU: what parsing and building such data costs.
_spin = 0
while time.process_time() - _t0 < 0.3:
    _spin += sum(range(1000))

from lmibench import rendezvous  # noqa: E402


def handler(event, context):
    if event.get("touch"):
        # Read every object of the table: each read writes its reference count, so every
        # page of it that a worker shares with the supervisor gets copied (the decay).
        return {"sum": sum(row["id"] for row in TABLE)}
    return rendezvous(event, context, len(TABLE))
