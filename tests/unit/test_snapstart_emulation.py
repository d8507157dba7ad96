"""The pure and in-process parts of the emulator's SnapStart: exit statuses read from /proc,
the fingerprint a restored process leaves, and the comparison of restores."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sys
import time
import types
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambdaloop import snapcheck
from lambdaloop.emulator import report, uniqueness
from lambdaloop.emulator.process import stat_exit_status

# ---- exit status of a zombie ---------------------------------------------------------------


def _zombie_status(action: str) -> int | None:
    """Fork a child that ends by ``action``, read its /proc stat while it is a zombie, reap it."""
    pid = os.fork()
    if pid == 0:
        if action == "exit 7":
            os._exit(7)
        os.kill(os.getpid(), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while True:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
        if text.rsplit(")", 1)[1].split()[0] == "Z" or time.monotonic() > deadline:
            break
        time.sleep(0.005)
    os.waitpid(pid, 0)
    return stat_exit_status(text)


def test_the_exit_status_of_a_zombie_is_read_from_proc() -> None:
    assert _zombie_status("exit 7") == 7
    assert _zombie_status("kill") == -signal.SIGKILL


def test_a_command_name_with_parentheses_and_spaces_does_not_shift_the_fields() -> None:
    fields = ["Z", *["0"] * 48, str(3 << 8)]
    assert stat_exit_status("42 (a ) b (c) " + " ".join(fields)) == 3


@given(st.text())
def test_any_stat_text_gives_a_status_or_none(text: str) -> None:
    assert stat_exit_status(text) is None or isinstance(stat_exit_status(text), int)


# ---- REPORT ----------------------------------------------------------------------------------


def test_report_line_puts_restore_figures_after_the_memory() -> None:
    line = report.report_line("r1", 1.234, 128, 40, None, None, (87.6543, 12))
    assert line == (
        "REPORT RequestId: r1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 40 MB\tRestore Duration: 87.65 ms\tBilled Restore Duration: 12 ms\t"
    )
    assert report.restore_report_line(5.0) == "RESTORE_REPORT Restore Duration: 5.00 ms"
    assert (
        report.init_report_line(9.876, "success") == "INIT_REPORT Init Duration: 9.88 ms\tPhase: init\tStatus: success"
    )
    assert report.init_report_line(1.0, "error", "Runtime.BeforeSnapshotError").endswith(
        "\tStatus: error\tError Type: Runtime.BeforeSnapshotError"
    )
    assert report.restore_report_line(5.0, "error", "Runtime.AfterRestoreError").endswith(
        "\tStatus: error\tError Type: Runtime.AfterRestoreError"
    )


# ---- the comparison ------------------------------------------------------------------------


def _finding(kind: str, where: str, digest: str) -> dict[str, str]:
    return {"kind": kind, "where": where, "digest": digest, "detail": "d"}


def test_state_with_one_digest_in_two_restores_is_shared_once() -> None:
    restores = [
        [_finding("random", "app.rng", "aa"), _finding("uuid", "app.id", "u1")],
        [_finding("random", "app.rng", "bb"), _finding("uuid", "app.id", "u1")],
        [_finding("random", "app.rng", "bb"), _finding("uuid", "app.id", "u1")],
    ]
    shared = uniqueness.shared_state(restores)
    assert [(s.kind, s.where, s.first, s.second) for s in shared] == [
        ("uuid", "app.id", 1, 2),
        ("random", "app.rng", 2, 3),
    ]


def test_one_restore_alone_shares_nothing_even_with_repeated_findings() -> None:
    assert uniqueness.shared_state([[_finding("uuid", "a", "x"), _finding("uuid", "a", "x")]]) == []


findings = st.lists(
    st.dictionaries(st.sampled_from(["kind", "where", "digest", "detail", "other"]), st.text(max_size=5), max_size=5),
    max_size=6,
)


@given(st.lists(findings, max_size=4))
def test_any_fingerprints_compare_without_error_and_only_repeats_are_reported(restores: list) -> None:
    for shared in uniqueness.shared_state(restores):
        assert shared.first < shared.second
        assert shared.message
        digests = [
            {
                f.get("digest", "")
                for f in restores[n - 1]
                if (f.get("kind", ""), f.get("where", "")) == (shared.kind, shared.where)
            }
            for n in (shared.first, shared.second)
        ]
        assert digests[0] & digests[1]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", None),
        (b"not json", None),
        (b"[]", None),
        (b'{"findings": 3}', None),
        (b"\xff\xfe", None),
        # What is readable of a half-good file is kept: the dicts, as text; a bad duration is 0.
        (b'{"findings": [1, "x", {"kind": "uuid", "n": 2}], "check_ms": "slow"}', ([{"kind": "uuid", "n": "2"}], 0.0)),
        (b'{"findings": [], "check_ms": 7.5}', ([], 7.5)),
    ],
)
def test_a_malformed_fingerprint_file_is_ignored_or_read_safely(
    tmp_path: Path, content: bytes, expected: object
) -> None:
    (tmp_path / "7.json").write_bytes(content)
    assert uniqueness.read_fingerprint(str(tmp_path), 7) == expected


def test_a_missing_fingerprint_file_reads_as_none(tmp_path: Path) -> None:
    assert uniqueness.read_fingerprint(str(tmp_path), 1) is None


# ---- the fingerprint -----------------------------------------------------------------------


class _FakeNumpyGenerator:
    """Classified by its module name, as NumPy's are (NumPy is not a test dependency)."""

    __module__ = "numpy.random._generator"

    def __init__(self, state: int) -> None:
        self.bit_generator = types.SimpleNamespace(state={"state": {"state": state}})


@pytest.fixture
def function_module(tmp_path: Path) -> Iterator[types.ModuleType]:
    """A module whose file is under a task root, as a function's are."""
    module = types.ModuleType("app_under_test")
    module.__file__ = str(tmp_path / "app_under_test.py")
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


def test_the_fingerprint_finds_generators_uuids_and_connections_by_name(
    tmp_path: Path, function_module: types.ModuleType
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        connection = socket.create_connection(server.getsockname())
        function_module.RNG = random.Random(5)
        function_module.CONFIG = {"ids": [uuid.uuid4(), uuid.uuid1()], "system": random.SystemRandom()}
        function_module.HOLDER = types.SimpleNamespace(gen=_FakeNumpyGenerator(9), conn=connection)
        function_module.ListeningOnly = server
        try:
            found = {(f["kind"], f["where"]) for f in snapcheck.fingerprint(str(tmp_path))}
        finally:
            connection.close()
    assert found == {
        ("random", "app_under_test.RNG"),
        ("uuid", "app_under_test.CONFIG['ids'][0]"),  # a uuid1 is not looked at, a SystemRandom has no state
        ("random", "app_under_test.HOLDER.gen"),
        ("socket", "app_under_test.HOLDER.conn"),  # the listening socket is not a connection
    }


def test_the_fingerprint_changes_with_the_state_and_never_holds_the_value(
    tmp_path: Path, function_module: types.ModuleType
) -> None:
    value = uuid.uuid4()
    function_module.ID = value
    function_module.RNG = random.Random(1)
    before = {f["where"]: f["digest"] for f in snapcheck.fingerprint(str(tmp_path))}
    function_module.RNG.random()
    after = {f["where"]: f["digest"] for f in snapcheck.fingerprint(str(tmp_path))}
    assert before["app_under_test.ID"] == after["app_under_test.ID"]
    assert before["app_under_test.RNG"] != after["app_under_test.RNG"]
    assert str(value) not in json.dumps(snapcheck.fingerprint(str(tmp_path)))


def test_modules_outside_the_task_root_are_not_walked(tmp_path: Path, function_module: types.ModuleType) -> None:
    function_module.RNG = random.Random()
    assert snapcheck.fingerprint(str(tmp_path / "elsewhere")) == []


def test_static_credentials_are_found_anywhere_in_the_heap_by_digest(tmp_path: Path) -> None:
    credentials = pytest.importorskip("botocore.credentials")
    held = [credentials.Credentials("AKIDEXAMPLE", "secret"), credentials.Credentials("AKIDOTHER", "secret")]
    found = [f for f in snapcheck.fingerprint(str(tmp_path)) if f["kind"] == "credentials"]
    assert len(found) >= 2 and len({f["digest"] for f in found}) >= 2
    assert "AKIDEXAMPLE" not in json.dumps(found)
    del held


def test_write_fingerprint_leaves_one_whole_file(tmp_path: Path) -> None:
    snapcheck.write_fingerprint(str(tmp_path))
    assert os.listdir(tmp_path) == [f"{os.getpid()}.json"]
    left = uniqueness.read_fingerprint(str(tmp_path), os.getpid())
    assert left is not None and left[1] > 0


def test_a_virtualenv_inside_the_task_root_is_not_the_function(tmp_path: Path) -> None:
    module = types.ModuleType("installed_library")
    module.__file__ = str(tmp_path / ".venv" / "lib" / "python3.11" / "site-packages" / "installed_library.py")
    module.RNG = random.Random()  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        assert snapcheck.fingerprint(str(tmp_path)) == []
    finally:
        del sys.modules[module.__name__]


class _Hostile:
    """A lazy proxy of the kind web frameworks keep in globals: every attribute raises."""

    def __getattribute__(self, name: str) -> object:
        raise RuntimeError("working outside of a request context")


def test_an_object_that_raises_on_every_attribute_is_skipped_not_fatal(
    tmp_path: Path, function_module: types.ModuleType
) -> None:
    function_module.PROXY = _Hostile()
    function_module.RNG = random.Random()
    found = {(f["kind"], f["where"]) for f in snapcheck.fingerprint(str(tmp_path))}
    assert found == {("random", "app_under_test.RNG")}
