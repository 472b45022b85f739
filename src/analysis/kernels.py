"""Report kernels forked from a process that has already imported the kernel and the package.

Starting a Jupyter kernel for a report costs about 1,5 s of processor time before its first cell:
the interpreter, ipykernel, pandas/pyarrow and :mod:`analysis` are imported anew each time. A
*zygote* does that once: ``python -m analysis.kernels`` imports them, then, for each report, forks
a child that becomes a new kernel (its own process, session and connection file, as if launched
by the kernel spec), so each report still gets a fresh kernel of its own, at the price of a fork.

A single report has no batch to share a zygote with, but the ``hoctap`` process itself has already
imported pandas, pyarrow and the package: :class:`Prefork` forks it once, before the report's
data-quality gate, and the child becomes the report's kernel (:func:`fork_here_allowed` says when
that is safe: one Python thread, the kernel spec's own interpreter).

The zygote reads one JSON request per line on its standard input and answers with the child's
pid; it exits when its standard input closes (the ``hoctap`` process ended, however it ended),
and each kernel exits when the zygote does (ipykernel's parent poller), so a killed run leaves
nothing running. :class:`ForkedKernelManager` is jupyter_client's asynchronous kernel manager
with its documented extension point (``_async_launch_kernel``) asking the zygote instead of
starting a process; anything unusual (another kernel command, a zygote that died or does not
answer) falls back to the ordinary launch.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, Any

#: Modules a report's kernel needs: imported ahead by a kernel started ahead, and by the zygote
#: before it forks kernels (the ones the package imports lazily included: Parquet datasets, the
#: summary paragraph's claims check, the Excel writer).
REPORT_IMPORTS = ("IPython.display", "analysis.dashboard", "analysis.exports", "analysis.charts", "analysis.claims",
                  "pyarrow.dataset", "pyarrow.parquet", "pyarrow.pandas_compat", "xlsxwriter")
#: What a kernel forked from the report's own process imports before it is asked for.
KERNEL_IMPORTS = ("ipykernel.kernelapp", "ipykernel.ipkernel", *REPORT_IMPORTS)
#: What the zygote imports once for all the kernels of a batch (the data-quality reports' gate too).
ZYGOTE_IMPORTS = (*KERNEL_IMPORTS, "analysis.quality.gate")
LAUNCHER = ["-m", "ipykernel_launcher"]


# ---------------------------------------------------------------------------------------------
# In the zygote
# ---------------------------------------------------------------------------------------------

def serve(requests: IO[str], replies: IO[str]) -> None:
    """The zygote's loop: import, say ready, fork one kernel per request line until end of input."""
    for name in ZYGOTE_IMPORTS:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked kernels are reaped as they end
    replies.write(json.dumps({"ready": os.getpid()}) + "\n")
    replies.flush()
    for line in requests:
        try:
            request = json.loads(line)
        except ValueError:
            continue
        pid = os.fork()
        if pid == 0:
            _become_kernel(request)
        replies.write(json.dumps({"pid": pid}) + "\n")
        replies.flush()


def _await_request(r: int) -> None:
    """In a child forked by :class:`Prefork`: let go of what belongs to the ``hoctap`` process,
    import the kernel, wait for the kernel's request (one JSON line on ``r``) and become it; exit
    quietly if the request never comes (the pipe closes)."""
    try:
        _let_go(keep={r})
        for name in KERNEL_IMPORTS:
            importlib.import_module(name)
        data = b""
        while chunk := os.read(r, 65536):
            data += chunk
        request = json.loads(data) if data.strip() else None
    except BaseException:  # noqa: BLE001 - never return into the hoctap process's code
        os._exit(1)
    if request is None:
        os._exit(0)
    _become_kernel(request)


def _let_go(keep: set[int]) -> None:
    """In a child forked from the ``hoctap`` process: point every inherited descriptor but ``keep``
    at /dev/null (the numbers stay taken, so no object still holding one closes a socket of the
    kernel's later; a lock such as the reports folder's stays with the parent alone), put the
    signals back to their defaults and forget the parent's event loop."""
    import asyncio

    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # nothing of the parent's input, nor writing into its output (a pipe it may speak through)
    os.dup2(devnull, 1)
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd > 2 and fd not in keep and fd != devnull:
            with contextlib.suppress(OSError):
                os.dup2(devnull, fd)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        with contextlib.suppress(OSError, ValueError):
            signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    asyncio.events._set_running_loop(None)


def _become_kernel(request: dict) -> None:
    """In the forked child: detach, redirect, take the kernel's environment and run ipykernel."""
    code = 0
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if request.get("log") \
            else devnull
        os.dup2(log, 2)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if request.get("cwd"):
            os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request.get("env") or {})
        zygote = os.getppid()
        os.environ["JPY_PARENT_PID"] = str(zygote)
        # ipykernel read JPY_PARENT_PID when the zygote imported it: say it again, so the kernel's
        # parent poller ends the kernel when the zygote ends
        args = [*request["args"], f"--IPKernelApp.parent_handle={zygote}"]
        sys.argv = ["ipykernel_launcher", *args]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:  # noqa: BLE001 - the child must never return into the zygote's loop
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


# ---------------------------------------------------------------------------------------------
# In the hoctap process
# ---------------------------------------------------------------------------------------------

class ForkedProcess:
    """The handle jupyter_client's local provisioner keeps for a kernel the zygote forked (not a
    child of this process: signals by pid, liveness by ``kill(pid, 0)``)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, child: bool = False) -> None:
        self.pid = pid
        self.child = child  # forked by this process (Prefork): reaped here
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """None while the kernel runs, else its exit code (0 when not this process's child)."""
        if self.returncode is None and self.child:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = 0
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        elif self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0
            except PermissionError:
                pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the kernel to end.

        Raises:
            subprocess.TimeoutExpired: It still runs after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.02)
        return self.returncode or 0

    def send_signal(self, signum: int) -> None:
        """Signal the kernel (nothing if it has ended)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        """SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)


def kernel_argv(kernel_name: str = "python3") -> list[str]:
    """The kernel spec's command line (``{connection_file}`` unformatted)."""
    from jupyter_client.kernelspec import KernelSpecManager

    return list(KernelSpecManager().get_kernel_spec(kernel_name).argv)


def _launcher_at(argv: list[str]) -> int:
    """Index of ``-m ipykernel_launcher`` in a kernel command, or -1."""
    for i in range(len(argv) - 1):
        if argv[i:i + 2] == LAUNCHER:
            return i
    return -1


class Zygote:
    """The zygote process of this ``hoctap`` process, started on first use.

    Args:
        kernel_name: The kernel spec whose interpreter and options the zygote uses.
        log: File for the zygote's own standard error.
    """

    owns_child = False  # the zygote's children, not this process's

    def __init__(self, kernel_name: str = "python3", log: Path | None = None) -> None:
        self.kernel_name = kernel_name
        self.log = log
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._ready = False
        self._pid = os.getpid()

    def start(self, env: dict[str, str] | None = None) -> bool:
        """Start the zygote (returns at once; it imports in the background). False if the kernel
        spec is not a plain ipykernel command (then kernels start the ordinary way)."""
        if self._proc is not None and self._proc.poll() is None and self._pid == os.getpid():
            return True
        argv = kernel_argv(self.kernel_name)
        at = _launcher_at(argv)
        if at < 1:
            return False
        err = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
        try:
            self._proc = subprocess.Popen([*argv[:at], "-m", "analysis.kernels"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1,
                                          env=env, close_fds=True, start_new_session=True)
        finally:
            if self.log:
                err.close()  # type: ignore[union-attr]
        self._ready = False
        self._pid = os.getpid()
        return True

    def accepts(self, kernel_cmd: list[str]) -> bool:  # noqa: ARG002 - the zygote runs the spec's own interpreter
        """Whether the zygote can fork the kernel ``kernel_cmd`` would start (always)."""
        return True

    def _readline(self, timeout: float) -> dict:
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError("zygote did not answer")
        line = self._proc.stdout.readline()
        if not line:
            raise EOFError("zygote ended")
        return json.loads(line)

    def fork(self, args: list[str], cwd: str | None, env: dict[str, str] | None, log: str | None,
             timeout: float = 60) -> int:
        """A new kernel process running ipykernel with ``args`` (e.g. ``["-f", conn_file]``).

        Raises:
            OSError, EOFError: The zygote is gone.
            TimeoutError: It has not finished its imports yet (no waiting: the caller starts the
                kernel the ordinary way meanwhile) or does not answer within ``timeout`` seconds.
        """
        with self._lock:
            if self._proc is None or self._proc.poll() is not None or self._proc.stdin is None:
                raise EOFError("no zygote")
            if not self._ready:
                self._readline(0)  # {"ready": pid}: its imports are done
                self._ready = True
            self._proc.stdin.write(json.dumps({"args": args, "cwd": cwd, "env": env, "log": log}) + "\n")
            self._proc.stdin.flush()
            return int(self._readline(timeout)["pid"])

    def close(self) -> None:
        """End the zygote (its kernels end with it once their reports have shut them down)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(Exception):
            if proc.stdin:
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with contextlib.suppress(Exception):
            if proc.stdout:
                proc.stdout.close()


#: Interpreter options of a kernel spec that a kernel forked from ``hoctap`` may go without: only
#: the debugger cares whether the standard library's modules are frozen, and reports never debug.
IGNORABLE_OPTIONS = frozenset({"-Xfrozen_modules=off"})


def fork_here_allowed() -> bool:
    """Whether this process may fork a report's kernel from itself (:class:`Prefork`).

    Only on Linux, with a single Python thread (a fork copies the calling thread alone: a lock
    another thread held would stay held in the child forever), and unless
    ``HOCTAP_FORK_KERNELS=0``.
    """
    return (sys.platform.startswith("linux") and threading.active_count() == 1
            and os.environ.get("HOCTAP_FORK_KERNELS", "1") != "0")


def runs_this_interpreter(kernel_cmd: list[str]) -> bool:
    """Whether a kernel command is ``<this python> [-Xfrozen_modules=off] -m ipykernel_launcher …``,
    so that this process, forked, is what the command would start."""
    at = _launcher_at(kernel_cmd)
    return (at >= 1 and os.path.abspath(kernel_cmd[0]) == os.path.abspath(sys.executable)
            and all(option in IGNORABLE_OPTIONS for option in kernel_cmd[1:at]))


class Prefork:
    """One kernel forked from this process before it is asked for: a single report's kernel.

    :meth:`start` forks at once; the child lets go of the parent's files and signals, imports
    ipykernel (pandas, pyarrow and the package it already has) while the parent runs the report's
    data-quality gate, and becomes the kernel when :meth:`fork` sends it the kernel's command line
    — the same interface as :class:`Zygote`, for :func:`forked_kernel_manager`. Single use.
    """

    owns_child = True

    def __init__(self) -> None:
        self.pid: int | None = None
        self._w: int | None = None
        self._lock = threading.Lock()

    def start(self) -> bool:
        """Fork the child now; False (nothing forked) when :func:`fork_here_allowed` says no."""
        if self.pid is not None or not fork_here_allowed():
            return self.pid is not None
        for stream in (sys.stdout, sys.stderr):  # or the child would write the parent's pending output again
            with contextlib.suppress(Exception):
                stream.flush()
        r, w = os.pipe()
        gc.freeze()  # the child's collector then leaves the parent's objects (and their pages) alone
        try:
            pid = os.fork()
        except OSError:
            gc.unfreeze()
            os.close(r)
            os.close(w)
            return False
        if pid:
            gc.unfreeze()
        else:
            os.close(w)
            _await_request(r)  # never returns
        os.close(r)
        self.pid, self._w = pid, w
        return True

    def accepts(self, kernel_cmd: list[str]) -> bool:
        """Whether the child can become the kernel ``kernel_cmd`` would start."""
        return runs_this_interpreter(kernel_cmd)

    def fork(self, args: list[str], cwd: str | None, env: dict[str, str] | None, log: str | None,
             timeout: float = 60) -> int:
        """Send the child its kernel's arguments; its pid.

        Raises:
            EOFError: It was already used or closed.
        """
        with self._lock:
            w, self._w = self._w, None
        if w is None or self.pid is None:
            raise EOFError("no kernel forked ahead")
        data = (json.dumps({"args": args, "cwd": cwd, "env": env, "log": log}) + "\n").encode()
        try:
            while data:
                data = data[os.write(w, data):]
        finally:
            os.close(w)
        return self.pid

    def close(self, timeout: float = 10) -> None:
        """Let a child that was never asked exit and reap it (nothing once it became a kernel)."""
        with self._lock:
            w, self._w = self._w, None
        if w is None or self.pid is None:
            return
        os.close(w)
        deadline = time.monotonic() + timeout
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(self.pid, os.WNOHANG)[0] == 0:
                if time.monotonic() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    break
                time.sleep(0.02)


@functools.cache
def quick_client_class() -> type:
    """jupyter_client's asynchronous kernel client, ready as soon as the kernel is.

    Its ``wait_for_ready`` asks for the kernel's info, as jupyter_client's does, and takes the
    kernel as ready once the reply has come on the shell channel and the request's ``idle`` status
    on IOPub (so IOPub is connected and nothing earlier is pending). jupyter_client's own then
    drains IOPub until it has been silent for 0,2 s, which every notebook run waits out in full.
    """
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class QuickReadyClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                msg_id = self.kernel_info()
                reply = None
                with contextlib.suppress(Empty):
                    while reply is None:
                        msg = await self.shell_channel.get_msg(timeout=1)
                        if msg["msg_type"] == "kernel_info_reply" and msg["parent_header"].get("msg_id") == msg_id:
                            reply = msg
                if reply is not None and await self._idle_after(msg_id, within=0.2):
                    self._handle_kernel_info_reply(reply)
                    return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

        async def _idle_after(self, msg_id: str, within: float) -> bool:
            """Whether IOPub brings the ``idle`` status of request ``msg_id`` within ``within`` s
            (not when IOPub is not connected yet: the kernel published it before we listened)."""
            end = time.monotonic() + within
            while (left := end - time.monotonic()) > 0:
                try:
                    msg = await self.iopub_channel.get_msg(timeout=left)
                except Empty:
                    return False
                if (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"
                        and msg["parent_header"].get("msg_id") == msg_id):
                    return True
            return False

    return QuickReadyClient


def forked_kernel_manager(zygote: Zygote | Prefork, log: Path, kernel_name: str = "python3") -> Any:
    """An asynchronous kernel manager whose kernel the zygote (or a :class:`Prefork`) forks
    (ordinary launch as fallback).

    Args:
        zygote: The zygote (started), or a started :class:`Prefork`.
        log: The kernel's standard error.
        kernel_name: The kernel spec.
    """
    from jupyter_client.manager import AsyncKernelManager

    class ForkedKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            import asyncio

            at = _launcher_at(kernel_cmd)
            try:
                if at < 1 or not zygote.accepts(kernel_cmd):
                    raise EOFError("not an ipykernel command this process can fork")
                pid = await asyncio.to_thread(zygote.fork, kernel_cmd[at + 2:], kw.get("cwd"), kw.get("env"),
                                              str(log))
            except (OSError, EOFError, TimeoutError, ValueError):
                await super()._async_launch_kernel(kernel_cmd, **kw)
                return
            provisioner = self.provisioner
            assert provisioner is not None
            provisioner.process = ForkedProcess(pid, child=zygote.owns_child)  # type: ignore[attr-defined]
            provisioner.pid = pid  # type: ignore[attr-defined]
            provisioner.pgid = pid  # type: ignore[attr-defined] - its own session
            provisioner.cwd = kw.get("cwd") or os.getcwd()  # type: ignore[attr-defined]
            self._reconcile_connection_info(provisioner.connection_info)

    return ForkedKernelManager(kernel_name=kernel_name)


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
