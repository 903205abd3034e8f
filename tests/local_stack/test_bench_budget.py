"""The CPU benchmark's reading of /proc: a child that names a function is counted under it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.budget import EMULATOR, RUNNER, processes

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads Linux's /proc")

BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\nprint('done', flush=True)\ninput()"


def test_a_child_naming_a_function_is_counted_under_it_and_the_emulator_by_its_pid() -> None:
    env = dict(os.environ, AWS_LAMBDA_FUNCTION_NAME="commerce-hub-test-burner")
    burner = subprocess.Popen([sys.executable, "-c", BURN], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    other = subprocess.Popen([sys.executable, "-c", BURN], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert burner.stdout.readline() == b"done\n" and other.stdout.readline() == b"done\n"
        spent = processes(emulator_pid=other.pid)
        assert spent["commerce-hub-test-burner"] >= 0.25  # its 0.3 s of CPU, in clock ticks
        assert spent[EMULATOR] >= 0.25  # the child without a function name, read by its pid
        assert spent[RUNNER] > 0
    finally:
        for child in (burner, other):
            child.kill()
            child.wait()
            child.stdin.close()
            child.stdout.close()
