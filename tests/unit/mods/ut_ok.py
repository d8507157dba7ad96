value = 1


def handler(event, context):
    return event
