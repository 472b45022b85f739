"""Kernels forked from the zygote (analysis.kernels): real kernels, each its own process and
session, fresh state per report, and nothing left running when the run ends or is killed."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from analysis import kernels

pytestmark = pytest.mark.xdist_group("notebooks")


def _gone(pid: int, within: float = 15) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie has ended too
            if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.1)
    return False


def _kill_owner(script: Path) -> list[str]:
    """Run ``script`` (it prints a JSON object of the pids it started, then sleeps), SIGKILL it,
    and name the processes it printed that are still running afterwards."""
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = json.loads(owner.stdout.readline())  # type: ignore[union-attr]
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        return [name for name, pid in pids.items() if not _gone(pid)]
    finally:
        if owner.poll() is None:
            owner.kill()


def _ready(z: kernels.Zygote, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            z._readline(0.5)
            z._ready = True
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


async def _run(km, code: str) -> dict:  # type: ignore[no-untyped-def]
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        msg_id = kc.execute(code, user_expressions={"out": "out"})
        while True:
            reply = await kc.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]
    finally:
        kc.stop_channels()


def test_forked_kernels_are_fresh_processes_with_the_package_imported(tmp_path: Path) -> None:
    z = kernels.Zygote(log=tmp_path / "zygote.log")
    assert z.start()
    _ready(z)
    seen = []
    try:
        for i in range(2):
            km = kernels.forked_kernel_manager(z, tmp_path / f"k{i}.log")
            asyncio.run(km.start_kernel(cwd=str(tmp_path)))
            pid = km.provisioner.pid
            assert isinstance(km.provisioner.process, kernels.ForkedProcess)  # forked, not launched
            code = ("import os, sys\n"
                    "first = 'mark' not in globals()\nmark = 1\n"
                    "out = (os.getpid(), os.getsid(0), 'analysis.dashboard' in sys.modules, first, os.getcwd())")
            content = asyncio.run(_run(km, code))
            assert content["status"] == "ok", content
            kpid, sid, imported, first, cwd = ast.literal_eval(content["user_expressions"]["out"]["data"]["text/plain"])
            assert kpid == pid and sid == pid and imported and first and cwd == str(tmp_path)
            seen.append(pid)
            asyncio.run(km.shutdown_kernel(now=False))
            assert _gone(pid)
    finally:
        z.close()
    assert len(set(seen)) == 2


def test_a_zygote_not_ready_yet_is_not_waited_for(tmp_path: Path) -> None:
    """Before its imports are done the zygote refuses at once; the manager then launches the
    kernel the ordinary way."""
    z = kernels.Zygote()
    assert z.start()
    try:
        km = kernels.forked_kernel_manager(z, tmp_path / "k.log")
        start = time.monotonic()
        asyncio.run(km.start_kernel(cwd=str(tmp_path)))
        took = time.monotonic() - start
        process = km.provisioner.process
        assert not isinstance(process, kernels.ForkedProcess) and took < 10
        asyncio.run(km.shutdown_kernel(now=True))
    finally:
        z.close()


def test_killing_the_run_ends_the_zygote_and_its_kernels(tmp_path: Path) -> None:
    """SIGKILL of the process that owns the zygote: the zygote sees its input close and ends,
    and a kernel it forked ends with it (ipykernel's parent poller)."""
    script = tmp_path / "owner.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, json, sys, time
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from analysis import kernels
        from test_kernels import _ready
        z = kernels.Zygote()
        z.start()
        _ready(z)
        km = kernels.forked_kernel_manager(z, Path({str(tmp_path / "k.log")!r}))
        asyncio.run(km.start_kernel())
        print(json.dumps({{"zygote": z._proc.pid, "kernel": km.provisioner.pid}}), flush=True)
        time.sleep(600)
    """))
    left = _kill_owner(script)
    assert not left, f"left running: {left}"


def test_forked_process_handle_signals_and_waits() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    handle = kernels.ForkedProcess(child.pid)
    assert handle.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        handle.wait(timeout=0.1)
    handle.terminate()
    child.wait()  # reap (it is this test's child, not the zygote's)
    assert handle.wait(timeout=5) == 0 and handle.poll() == 0
    handle.kill()  # ended: nothing happens


# ---------------------------------------------------------------------------------------------
# A single report's kernel: this process, forked (Prefork)
# ---------------------------------------------------------------------------------------------

def _prefork() -> kernels.Prefork:
    if not kernels.fork_here_allowed():
        pytest.skip("this test process runs more than one thread: it may not fork")
    prefork = kernels.Prefork()
    assert prefork.start()
    return prefork


def test_a_kernel_forked_from_this_process_lets_go_of_its_files(tmp_path: Path) -> None:
    """The kernel is this process's child in a session of its own, with the package already
    imported and fresh globals; the parent's descriptors point at /dev/null in it, so a lock the
    parent holds (the reports folder's) is released when the parent lets go, not when the kernel
    ends; the ended kernel is reaped (no zombie)."""
    import fcntl

    lock = tmp_path / ".lock"
    held = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    prefork = _prefork()
    try:
        km = kernels.forked_kernel_manager(prefork, tmp_path / "k.log")
        asyncio.run(km.start_kernel(cwd=str(tmp_path)))
        pid = km.provisioner.pid
        assert pid == prefork.pid and km.provisioner.process.child
        code = ("import os, sys\nfirst = 'mark' not in globals()\nmark = 1\n"
                f"out = (os.getpid(), os.getppid(), os.getsid(0), 'analysis.dashboard' in sys.modules, first, "
                f"os.getcwd(), os.readlink('/proc/self/fd/{held}'))")
        content = asyncio.run(_run(km, code))
        assert content["status"] == "ok", content
        kpid, ppid, sid, imported, first, cwd, fd_target = ast.literal_eval(
            content["user_expressions"]["out"]["data"]["text/plain"])
        assert (kpid, ppid, sid) == (pid, os.getpid(), pid)
        assert imported and first and cwd == str(tmp_path) and fd_target == os.devnull
        os.close(held)
        other = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the kernel still shared the lock
        finally:
            os.close(other)
        asyncio.run(km.shutdown_kernel(now=False))
        assert not Path(f"/proc/{pid}").exists(), "the kernel was not reaped"
    finally:
        prefork.close()


def test_a_prefork_never_asked_exits_and_is_reaped() -> None:
    prefork = _prefork()
    pid = prefork.pid
    assert pid and Path(f"/proc/{pid}").exists()
    prefork.close()
    assert not Path(f"/proc/{pid}").exists()
    with pytest.raises(EOFError):
        prefork.fork(["-f", "x.json"], None, None, None)


def test_no_fork_from_a_process_running_threads_or_when_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not kernels.fork_here_allowed()
        assert not kernels.Prefork().start()
    finally:
        stop.set()
        thread.join()
    monkeypatch.setenv("HOCTAP_FORK_KERNELS", "0")
    assert not kernels.Prefork().start()


def test_only_this_interpreter_s_kernel_command_is_forked() -> None:
    tail = ["-m", "ipykernel_launcher", "-f", "c.json"]
    assert kernels.runs_this_interpreter([sys.executable, *tail])
    assert kernels.runs_this_interpreter([sys.executable, "-Xfrozen_modules=off", *tail])
    assert not kernels.runs_this_interpreter([sys.executable, "-X", "dev", *tail])
    assert not kernels.runs_this_interpreter(["/opt/other/bin/python", *tail])
    assert not kernels.runs_this_interpreter([sys.executable, "-m", "other_kernel", "-f", "c.json"])


def test_killing_the_report_ends_the_kernel_forked_from_it(tmp_path: Path) -> None:
    script = tmp_path / "owner.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, json, time
        from pathlib import Path
        from analysis import kernels
        prefork = kernels.Prefork()
        assert prefork.start()
        km = kernels.forked_kernel_manager(prefork, Path({str(tmp_path / "k.log")!r}))
        asyncio.run(km.start_kernel())
        kc = km.client()
        kc.start_channels()
        asyncio.run(kc.wait_for_ready(timeout=60))
        kc.stop_channels()
        print(json.dumps({{"kernel": km.provisioner.pid}}), flush=True)
        time.sleep(600)
    """))
    left = _kill_owner(script)
    assert not left, f"left running: {left}"


def test_the_quick_client_is_ready_with_iopub_connected(tmp_path: Path) -> None:
    """``wait_for_ready`` returns once the kernel answered and IOPub is connected (no 0,2 s drain):
    the first execution's output then arrives on IOPub under its own request, nothing stale first."""
    from jupyter_client.manager import AsyncKernelManager

    km = AsyncKernelManager(kernel_name="python3")
    km.client_factory = kernels.quick_client_class()
    asyncio.run(km.start_kernel(cwd=str(tmp_path)))

    async def first_output() -> tuple[str, str]:
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            msg_id = kc.execute("print('hello')")
            while True:
                msg = await kc.get_iopub_msg(timeout=30)
                if msg["msg_type"] == "stream":
                    mine = msg["parent_header"]["msg_id"] == msg_id
                    return ("matched" if mine else "stale"), msg["content"]["text"]
        finally:
            kc.stop_channels()

    try:
        assert asyncio.run(first_output()) == ("matched", "hello\n")
    finally:
        asyncio.run(km.shutdown_kernel(now=True))
