x = 1

def handler(event, context):
  if True:
        return 1
    return 2
