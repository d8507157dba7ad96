"""A runtime that breaks the rule under test: it starts a process in a session of its own
(out of reach of the process-group signals that end an environment), then runs lambdaloop.
The harness must report that process as a survivor."""

import runpy
import subprocess
import sys

subprocess.Popen(["sleep", "120"], start_new_session=True)
sys.argv = ["lambdaloop", *sys.argv[1:]]
runpy.run_module("lambdaloop", run_name="__main__", alter_sys=True)
