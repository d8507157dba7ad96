"""A runtime that speaks the emulator's restore-by-fork exchange wrongly, on purpose.

RAW_MODE=foreign: reports its parent (the emulator itself) as the process it forked.
RAW_MODE=die: announces fork support, then exits 9 when asked for a restore.
"""

import http.client
import os
import sys

host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
mode = os.environ.get("RAW_MODE", "")


def restore_next(headers: dict[str, str]) -> None:
    connection = http.client.HTTPConnection(host, int(port))
    connection.request("GET", "/2018-06-01/runtime/restore/next", headers=headers)
    assert connection.getresponse().status == 200
    connection.close()


restore_next({"Lambdaloop-Restore-By-Fork": "1"})  # the snapshot; answered at the first restore
if mode == "die":
    sys.exit(9)
restore_next({"Lambdaloop-Restore-By-Fork": "1", "Lambdaloop-Restored-Pid": str(os.getppid())})
