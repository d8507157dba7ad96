"""The uniqueness check's two examples: ``bad_handler``'s module state is made at init and
shared by every restore; with SNAPSTART_GOOD=1 the same names are remade after each restore
(or closed before the snapshot), as a function should do it."""

import os
import random
import socket
import uuid

import botocore.credentials
from snapshot_restore_py import register_after_restore, register_before_snapshot

GOOD = os.environ.get("SNAPSTART_GOOD") == "1"
PEER = ("127.0.0.1", int(os.environ["SNAPSTART_PEER_PORT"]))

RNG = random.Random()
INSTANCE_ID = uuid.uuid4()
CONNECTION: socket.socket | None = socket.create_connection(PEER)
CREDENTIALS = None if GOOD else botocore.credentials.Credentials("AKIDEXAMPLE00000000", "not-a-secret")
RNG.random()


def _close_before_snapshot() -> None:
    global CONNECTION
    if CONNECTION is not None:
        CONNECTION.close()
        CONNECTION = None


def _fresh_after_restore() -> None:
    global INSTANCE_ID, CONNECTION
    RNG.seed()
    INSTANCE_ID = uuid.uuid4()
    CONNECTION = socket.create_connection(PEER)


if GOOD:
    register_before_snapshot(_close_before_snapshot)
    register_after_restore(_fresh_after_restore)


def handler(event: dict, context: object) -> dict:
    return {"instance": str(INSTANCE_ID), "n": RNG.random()}
