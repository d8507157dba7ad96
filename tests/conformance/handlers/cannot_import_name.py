from helpers.deep import no_such_name  # noqa: F401


def handler(event, context):
    return "unreachable"
