"""Kernels that start with the book's libraries already imported, for the build and the tests.

Every chapter runs in a fresh kernel, and each kernel used to spend 2 to 6 s importing the
same libraries (torch, matplotlib, scipy, transformers' model classes, the ``emergence``
package) before its first line of real work: about a fifth of the book's execution time.
Here one process, the kernel server, imports them once; each kernel is a child it forks,
which then runs ``ipykernel_launcher`` as a normal kernel would. What a chapter prints does
not change: the same code runs on the same libraries, in the kernel environment of
:mod:`booktools.execution`, which the server was started with.

* :func:`use_build_kernelspec` puts the build's kernelspec first on ``$JUPYTER_PATH``;
* :func:`start` starts the server (``python -m booktools.kernelserver SOCKET``) and records
  its socket in ``$EMERGENCE_KERNEL_SERVER``, so that every process started afterwards (the
  build's pool workers, pytest-xdist's workers) uses the same one. The build starts it only
  when a chapter must execute: a rebuild from the cache runs no kernel;
* :class:`ForkedKernelProvisioner`, a jupyter-client kernel provisioner, asks the server for
  a kernel instead of starting a process; the build's kernelspec names it
  (:func:`write_kernelspec`), so that myst-nb, jupyter-cache and nbval all launch through it.
  Without a server it starts kernels as jupyter-client does.

Readers' kernels (Jupyter, Binder) are ordinary ones and print the same outputs.
Linux and macOS only (``fork``); elsewhere :func:`start` does nothing.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyter_client.provisioning.local_provisioner import LocalProvisioner

#: Environment variable holding the server's socket path.
SERVER_VARIABLE = "EMERGENCE_KERNEL_SERVER"

#: The provisioner's entry-point name (pyproject.toml), as a kernelspec names it.
PROVISIONER_NAME = "booktools-forked"

#: What the server imports before it forks kernels: what most chapters import. Not pyplot:
#: the inline backend attaches itself to the IPython shell when it is imported, and that
#: shell exists only in the kernel.
PRELOADED = ("numpy", "scipy.optimize", "torch", "torch._dynamo", "matplotlib.figure",
             "emergence.training", "emergence.lm", "transformers.modeling_utils",
             "transformers.models.llama.modeling_llama", "ipykernel.kernelapp")


def _request(path: str, **message: Any) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(path)
        connection.sendall(json.dumps(message).encode() + b"\n")
        return json.loads(connection.makefile().readline())


def running_server() -> str | None:
    """The socket of the kernel server this process should use, or None."""
    path = os.environ.get(SERVER_VARIABLE, "")
    if not path or not Path(path).exists():
        return None
    return path


#: Environment variable holding the folder of the build's kernelspec (and the server's socket).
FOLDER_VARIABLE = "EMERGENCE_KERNEL_FOLDER"


def use_build_kernelspec() -> Path:
    """Put the kernelspec that launches through the server first on ``$JUPYTER_PATH``
    (:func:`write_kernelspec`), once per process tree; return its folder. Until :func:`start`
    runs, its provisioner starts kernels as jupyter-client does."""
    folder = os.environ.get(FOLDER_VARIABLE, "")
    if folder and Path(folder).is_dir():
        return Path(folder)
    created = Path(tempfile.mkdtemp(prefix="emergence-kernels-"))
    write_kernelspec(created)
    os.environ[FOLDER_VARIABLE] = str(created)
    atexit.register(shutil.rmtree, created, True)  # after the server's stop (last in, first out)
    return created


_started = itertools.count()


def start() -> str | None:
    """Start the kernel server unless one is running, with the build's kernelspec
    (:func:`use_build_kernelspec`); return the server's socket (None where processes cannot
    fork: kernels then start as usual, from the same kernelspec, with this process's
    Python). Call it after the kernel environment is set: the server imports the libraries
    with it."""
    running = running_server()
    if running:
        return running
    folder = use_build_kernelspec()
    if not hasattr(os, "fork"):  # the provisioner then starts kernels as jupyter-client does
        return None
    # a name of its own: several processes, and the tests, may each start servers here
    path = str(folder / f"server-{os.getpid()}-{next(_started)}.sock")
    server = subprocess.Popen([sys.executable, "-m", "booktools.kernelserver", path],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    if server.stdout.readline().strip() != "ready":
        raise RuntimeError("the kernel server did not start (python -m booktools.kernelserver)")
    atexit.register(_stop, server)
    os.environ[SERVER_VARIABLE] = path
    return path


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()


def write_kernelspec(folder: Path) -> Path:
    """Write the build's ``python3`` kernelspec, which launches through the server, under
    ``folder/kernels``; put ``folder`` first on ``$JUPYTER_PATH``; return the spec's file."""
    from ipykernel.kernelspec import get_kernel_dict

    # ipykernel's own spec for this Python (with what it supports: CurveZMQ keys, the
    # debugger), plus the provisioner
    content = get_kernel_dict()
    content.setdefault("metadata", {})["kernel_provisioner"] = {"provisioner_name": PROVISIONER_NAME}
    spec = folder / "kernels" / "python3" / "kernel.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps(content, indent=1))
    paths = [str(folder)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
                             if p and p != str(folder)]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)
    return spec


class _ForkedKernel:
    """The parts of ``subprocess.Popen`` a provisioner uses, for a kernel the server forked
    (the server is its parent, so only the server can wait for it)."""

    stdin = stdout = stderr = None

    def __init__(self, server: str, pid: int) -> None:
        self.server, self.pid = server, pid
        self.returncode: int | None = None
        #: the kernel's peak resident memory in bytes, known once it has exited
        self.peak_memory = 0

    def poll(self) -> int | None:
        if self.returncode is None:
            answer = _request(self.server, op="poll", pid=self.pid)
            self.returncode, self.peak_memory = answer["returncode"], answer["peak_memory"]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        while self.poll() is None:
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


#: Peak memory, in bytes, of the last kernel of this process that exited (0: none yet).
last_kernel_peak_memory = 0


class ForkedKernelProvisioner(LocalProvisioner):
    """jupyter-client's local provisioner, except that the kernel server forks the kernel."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        server = running_server()
        if server is None or cmd[1:3] != ["-m", "ipykernel_launcher"]:
            return await super().launch_kernel(cmd, **kwargs)
        environment = dict(kwargs.get("env") or os.environ)
        folder = str(kwargs.get("cwd") or os.getcwd())
        # nbval discards its kernels' stderr (where ipykernel logs); the server cannot be
        # handed the file itself, only told to do the same
        discard = getattr(kwargs.get("stderr"), "name", None) == os.devnull
        pid = _request(server, op="launch", argv=cmd[3:], env=environment, cwd=folder,
                       discard_stderr=discard)["pid"]
        self.process = _ForkedKernel(server, pid)
        self.pid = self.pgid = pid  # the kernel leads its own process group
        self.cwd = folder
        return self.connection_info

    async def wait(self) -> int | None:
        global last_kernel_peak_memory
        process = self.process
        code = await super().wait()
        if isinstance(process, _ForkedKernel):
            last_kernel_peak_memory = process.peak_memory
        return code


def _become_kernel(request: dict) -> None:
    """In the forked child: become the kernel the request describes; never return."""
    code = 1
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        if request.get("discard_stderr"):
            os.dup2(null, 2)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        import runpy

        try:
            runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 0
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(path: str) -> None:
    """The server: import :data:`PRELOADED`, then fork a kernel for each ``launch`` request
    and report a kernel's exit status and peak memory for each ``poll``; stop when the
    process that started it is gone."""
    import importlib

    for module in PRELOADED:
        importlib.import_module(module)
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    listener.settimeout(1.0)
    print("ready", flush=True)
    finished: dict[int, tuple[int, int]] = {}
    while os.getppid() == parent:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        with connection:
            request = json.loads(connection.makefile().readline())
            if request["op"] == "launch":
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    connection.close()
                    _become_kernel(request)
                answer: dict[str, Any] = {"pid": pid}
            else:
                pid = request["pid"]
                if pid not in finished:
                    try:
                        done, status, usage = os.wait4(pid, os.WNOHANG)
                    except ChildProcessError:  # not a kernel of this server
                        done, status, usage = pid, 0, None
                    if done and usage is None:
                        finished[pid] = (0, 0)
                    elif done:
                        finished[pid] = (os.waitstatus_to_exitcode(status),
                                         usage.ru_maxrss * 1024)
                code, peak = finished.get(pid, (None, 0))
                answer = {"returncode": code, "peak_memory": peak}
            connection.sendall(json.dumps(answer).encode() + b"\n")
    # its socket only: the folder (the kernelspec) is removed by the process that made it,
    # which may have started other servers
    Path(path).unlink(missing_ok=True)


if __name__ == "__main__":
    serve(sys.argv[1])
