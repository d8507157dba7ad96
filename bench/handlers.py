"""Handlers every contender runs: ``bench.handlers.noop`` and ``bench.handlers.echo``.

Nothing is imported at module level, on purpose: this module sits on every contender's
start-up path, and an import here (``json`` above all) would hide whether the runtime itself
pulls that module in. The document generator imports ``json`` only when called.
"""


def noop(event: object, context: object) -> dict[str, object]:
    """Returns an empty dict, so every runtime posts the two bytes ``{}``."""
    return {}


def echo(event: object, context: object) -> object:
    """Returns the event unchanged: the ~1 MB JSON echo figure, and ``{}`` for a noop event."""
    return event


def document(nbytes: int = 1 << 20) -> bytes:
    """A structured JSON document of about ``nbytes``: thousands of small records with ints,
    floats, bools, strings and lists (what an API or SQS batch looks like), not one long string,
    whose cost would be a single memcpy. Serialized with json's defaults (``", "`` and ``": "``),
    which is also what awslambdaric emits, so an echo answer can be compared byte for byte."""
    import json

    records: list[dict[str, object]] = []
    size = 12
    i = 0
    while size < nbytes:
        record = {
            "id": i,
            "name": f"item-{i:07d}",
            "active": i % 3 == 0,
            "score": i * 0.25,
            "tags": ["alpha", "beta", f"t{i % 97}"],
            "note": "lorem ipsum dolor sit amet",
        }
        records.append(record)
        size += len(json.dumps(record)) + 2
        i += 1
    return json.dumps({"items": records}).encode()
