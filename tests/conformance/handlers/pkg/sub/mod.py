def handler(event, context):
    return {"module": __name__, "event": event}


def fails(event, context):
    raise ValueError("from a nested package")
