"""The cheapest handler: start-up measurements see only lambdaloop's own cost."""


def handler(event: object, context: object) -> None:
    return None
