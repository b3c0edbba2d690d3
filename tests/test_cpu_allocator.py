"""pretrain/cpu_allocator.py: a `maelm` task keeps large freed CPU blocks for reuse (glibc), unless the user set
glibc's own malloc environment."""
import ctypes.util
import os
import subprocess
import sys

import pytest

from helpers import BIN
from maelm_fairseq.pretrain import cpu_allocator, task as task_module
from model_factory import dictionary

MMAPPED = """
import ctypes, sys, torch
if sys.argv[1] == "keep":
    from maelm_fairseq.pretrain.cpu_allocator import keep_freed_memory
    assert keep_freed_memory()
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
t = torch.empty(1024, 24576)  # 100 MB: over glibc's largest automatic mmap threshold (32 MB)
print(libc.mallinfo2().hblkhd)  # bytes in blocks handed out by mmap (unmapped again when freed)
"""

glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or "libc.so.6" not in str(ctypes.util.find_library("c")),
                           reason="glibc's mallopt")


def mmapped_bytes(mode):
    out = subprocess.run([os.path.join(BIN, "python"), "-c", MMAPPED, mode], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.split()[-1])


@glibc
def test_large_blocks_come_from_the_heap_not_from_mmap():
    """Without the setting a 100 MB tensor is its own mmap (unmapped when freed, page-faulted in again on the next
    step); with it, a heap block that stays in the process for the next step."""
    assert mmapped_bytes("plain") >= 100_000_000
    assert mmapped_bytes("keep") < 100_000_000


@glibc
def test_user_malloc_environment_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert cpu_allocator._set() is False  # nothing changed: the user's settings stand


def test_setting_up_the_task_keeps_freed_memory(monkeypatch):
    calls = []
    monkeypatch.setattr(task_module, "keep_freed_memory", lambda: calls.append(1))
    monkeypatch.setattr(task_module, "check_data_dirs", lambda data: ["unused"])
    monkeypatch.setattr(task_module, "load_dictionary", lambda path, mask: dictionary())
    task_module.MaelmTask.setup_task(task_module.MaelmConfig(data="unused"))
    assert calls == [1]
