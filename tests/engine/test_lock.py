import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowtui.engine.lock import LockHeld, SchedulerLock

HOLD_UNTIL_STDIN_CLOSES = """
import sys
from pathlib import Path
from flowtui.engine.lock import SchedulerLock
lock = SchedulerLock(Path(sys.argv[1]))
lock.acquire()
print("held", flush=True)
sys.stdin.read()
"""


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_UNTIL_STDIN_CLOSES, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld) as refused:
            SchedulerLock(tmp_path).acquire()
        assert refused.value.pid == holder.pid
        assert f"process {holder.pid}" in str(refused.value)
    finally:
        holder.kill()
        holder.wait()
    # The OS released the lock with the killed holder: it can be taken again.
    with SchedulerLock(tmp_path) as lock:
        assert lock.held
        assert lock.holder_pid() == os.getpid()
    assert not lock.held
    assert lock.holder_pid() is None
