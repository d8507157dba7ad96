import json


def handler(event, context):
    print("hello from the function", event.get("n"))
    with open(event["log"], "a") as f:
        f.write(json.dumps({"what": "handled", "n": event.get("n")}) + "\n")
    return {"n": event.get("n")}
