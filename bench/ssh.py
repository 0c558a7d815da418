# SPDX-License-Identifier: GPL-3.0-or-later
"""Clone and push over SSH against a plain ``git-upload-pack`` on the same sshd (figures, no
asserts; issue 16).

One run builds the 2,000-commit / 40 MB git repository of ``bench/clone.py`` (``--small``: 400
commits / 8 MB), starts ``hearth serve`` with its built-in SSH server and, when this runs as
root with ``/usr/sbin/sshd``, an OpenSSH ``sshd`` on a random port that knows two keys:

* Hearth's, through ``AuthorizedKeysCommand hearth ssh-keys %u %k`` (forced command
  ``hearth ssh-serve KEY_ID``);
* a second Hearth key in an ``authorized_keys`` file (the line ``hearth ssh-keys`` prints, as
  setting ``ssh_authorized_keys_file`` writes it): one Python process per login, not three;
* the floor's, in that file with ``command="eval exec
  $SSH_ORIGINAL_COMMAND"``: git's own ``git-upload-pack`` / ``git-receive-pack`` on the
  repository's path, the least an SSH server can do.

Compared, with the median of ``--runs`` runs in rotating order: ``git clone --bare`` and a push
of the whole history to an empty repository over the built-in server, over sshd + Hearth, over
the sshd floor (target: within 1.10x of it), and the same clone over Hearth's HTTP.

Run: ``.venv/bin/python bench/ssh.py [--small] [--runs N]``.

Measured 2026-12-03 (2,000 commits / 43 MB, 3 runs, two cores shared with other jobs at load
~10, so only the ratios mean anything): clone 4.74 s built-in / 20.35 s sshd + ssh-keys +
ssh-serve / 10.55 s sshd + authorized_keys file / 4.71 s floor / 2.28 s Hearth over HTTP;
push 2.97 / 14.88 / 7.10 / 4.99 s. The built-in server is within the target (1.00x clone,
0.59x push: the sshd floor pays sshd's own per-connection work); through sshd every Hearth
process pays Python's and SQLAlchemy's start (about 0.5 s of CPU, far more under this load):
three per login with ``AuthorizedKeysCommand`` (sshd asks twice), one with the file.

Then ``hearth ssh-keys`` / ``ssh-serve`` stopped loading typer, rich and the other commands
(``cli/entry.py`` → ``cli/sshlean.py``) and ``ssh-keys`` stopped loading SQLAlchemy
(``services/sshlogin.py``): CPU per process, median of 7, load ~8 on two cores: ``ssh-keys``
1.05 s → 0.06 s, ``ssh-serve`` 1.09 s → 0.77 s (``python -c pass``: 0.013 s). ``--small
--runs 3``, before and after in the same session (load 6-9, so compare the ratios): sshd +
``AuthorizedKeysCommand`` clone 6.03x → 2.56x the floor, push 4.82x → 2.24x; the
``authorized_keys`` file route (one ``ssh-serve``) 2.35x → 2.93x / 2.48x → 2.48x, i.e. no
change beyond noise; built-in server 0.73x / 0.54x clone, 0.35x / 0.47x push. Not yet within
1.10x through sshd: what remains is ``ssh-serve`` importing SQLAlchemy's ORM, the models and
pygit2 for the permission check and the push bookkeeping.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import clone as cb  # noqa: E402  (the repository builder, timing and the Hearth launcher)

SSHD = "/usr/sbin/sshd"
TICK = os.sysconf("SC_CLK_TCK")


def _times(pid: int) -> float:
    """CPU seconds of ``pid`` and of its children it has reaped (utime, stime, cutime, cstime)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / TICK


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def server_cpu(pids: list[int]) -> float:
    """CPU spent on the server side so far: sshd's listener (each connection's processes, the
    forced command and git included, are its reaped children) and Hearth's supervisor and
    workers (the git children they reaped). Unlike wall time, this hardly moves with the
    machine's load, so its ratio to the floor is the steadier figure."""
    return sum(_times(pid) for root in pids for pid in [root, *_children(root)])


def measured(fn: Callable[[], None], pids: list[int], into: list[float]) -> Callable[[], None]:
    def run() -> None:
        before = server_cpu(pids)
        fn()
        time.sleep(0.3)  # sshd reaps the connection's processes just after the client is done
        into.append(server_cpu(pids) - before)

    return run


def keygen(path: Path) -> Path:
    cb.sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", path)
    return path


def ssh_command(key: Path, port: int) -> str:
    words = [
        "ssh", "-p", str(port), "-i", str(key), "-F", "/dev/null",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
        "-o", "LogLevel=ERROR",
    ]  # fmt: skip
    return " ".join(shlex.quote(w) for w in words)


def git(ssh: str) -> Callable[..., None]:
    env = {**os.environ, "GIT_SSH_COMMAND": ssh, "GIT_CONFIG_NOSYSTEM": "1"}

    def run(*args: str | Path) -> None:
        subprocess.run(["git", *map(str, args)], check=True, capture_output=True, env=env)

    return run


def wait_tcp(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def start_sshd(
    work: Path, hearth_env: dict[str, str], floor_key: Path, file_line: str
) -> tuple[subprocess.Popen[bytes], int] | None:
    if os.geteuid() != 0 or not os.access(SSHD, os.X_OK):
        print("  (not root or no sshd: only the built-in server is measured)")
        return None
    port = cb.free_port()
    host_key = keygen(work / "sshd_host_key")
    floor_keys = work / "floor_authorized_keys"
    public = Path(f"{floor_key}.pub").read_text().strip()
    floor_keys.write_text(f'command="eval exec $SSH_ORIGINAL_COMMAND" {public}\n{file_line}\n')
    env = " ".join(
        f"{name}={hearth_env[name]}"
        for name in ("HEARTH_HOME", "HEARTH_REPOS", "HEARTH_DATABASE_URL", "HEARTH_SSH_USER")
    )
    hearth = Path(sys.executable).with_name("hearth")
    config = work / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile none
UsePAM no
PermitRootLogin forced-commands-only
PasswordAuthentication no
KbdInteractiveAuthentication no
StrictModes no
AuthorizedKeysFile {floor_keys}
AuthorizedKeysCommand /usr/bin/env {env} {hearth} ssh-keys %u %k
AuthorizedKeysCommandUser root
AcceptEnv GIT_PROTOCOL
"""
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    wait_tcp(port, proc)
    return proc, port


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    commits, mb = (400, 8.0) if args.small else (2000, 40.0)
    work = Path(tempfile.mkdtemp(prefix="hearth-bench-ssh-"))
    root = cb.server_root(work)
    root.mkdir()
    try:
        with contextlib.ExitStack() as stack:
            src = cb.build_git(root / "gitsrc", commits, mb)
            print(f"git repository: {commits} commits, {cb.du_mb(src):.0f} MB on disk")
            ssh_port = cb.free_port()
            os.environ["HEARTH_SSH_PORT"] = str(ssh_port)  # HearthServer passes os.environ on
            os.environ["HEARTH_SSH_USER"] = "root"
            hearth = cb.HearthServer(root)
            stack.callback(hearth.stop)
            hearth.register("gitsrc")
            assert hearth.proc is not None
            wait_tcp(ssh_port, hearth.proc)
            key = keygen(work / "hearth_key")
            hearth.api("add_ssh_key", userid="admin", public_key=Path(f"{key}.pub").read_text())
            floor_key = keygen(work / "floor_key")
            file_key = keygen(work / "file_key")  # its line goes in an authorized_keys file
            blob = Path(f"{file_key}.pub").read_text().split()[1]
            hearth.api("add_ssh_key", userid="admin", public_key=f"ssh-ed25519 {blob}")
            file_line = subprocess.run(
                [sys.executable, "-m", "hearth", "ssh-keys", "root", blob],
                env=hearth.env, check=True, capture_output=True, text=True,
            ).stdout.strip()  # fmt: skip
            started = start_sshd(work, hearth.env, floor_key, file_line)
            if started is not None:
                stack.callback(started[0].terminate)

            builtin = git(ssh_command(key, ssh_port))
            routes: list[tuple[str, Callable[..., None], Callable[[str], str]]] = [
                ("built-in server", builtin, lambda n: f"ssh://hearth@127.0.0.1:{ssh_port}/{n}")
            ]
            if started is not None:
                port = started[1]
                routes.append(
                    ("sshd + hearth ssh-serve", git(ssh_command(key, port)),
                     lambda n: f"ssh://root@127.0.0.1:{port}/{n}")
                )  # fmt: skip
                routes.append(
                    ("sshd + authorized_keys file", git(ssh_command(file_key, port)),
                     lambda n: f"ssh://root@127.0.0.1:{port}/{n}")
                )  # fmt: skip
                routes.append(
                    ("sshd + plain git (floor)", git(ssh_command(floor_key, port)),
                     lambda n: f"ssh://root@127.0.0.1:{port}{root / n}")
                )  # fmt: skip
            dest = work / "clone.git"

            def clean() -> None:
                shutil.rmtree(dest, ignore_errors=True)

            pids = [hearth.proc.pid] + ([started[0].pid] if started is not None else [])
            clone_cpu: list[list[float]] = [[] for _ in routes]
            clones = [
                measured(
                    lambda run=run, url=url: run("clone", "-q", "--bare", url("gitsrc"), dest),
                    pids,
                    clone_cpu[index],
                )
                for index, (_label, run, url) in enumerate(routes)
            ]
            clones.append(lambda: builtin("clone", "-q", "--bare", hearth.repo_url("gitsrc"), dest))
            clone_times = cb.compare_all(clones, args.runs, clean)

            counter = iter(range(1_000_000))
            target: list[str] = []

            def fresh() -> None:
                name = f"empty{next(counter)}"
                cb.sh("git", "init", "-q", "--bare", "-b", "main", root / name)
                hearth.register(name)
                target[:] = [name]

            push_cpu: list[list[float]] = [[] for _ in routes]
            pushes = [
                measured(
                    lambda run=run, url=url: run("-C", src, "push", "-q", url(target[0]), "main"),
                    pids,
                    push_cpu[index],
                )
                for index, (_label, run, url) in enumerate(routes)
            ]
            push_times = cb.compare_all(pushes, args.runs, fresh)

        floor = len(routes) - 1 if started is not None else None
        cpu = [statistics.median(c) for c in clone_cpu], [statistics.median(c) for c in push_cpu]
        print(f"median of {args.runs} runs: wall time, and CPU of the server side (sshd, Hearth)")
        for index, (label, _run, _url) in enumerate(routes):
            line = f"  git clone --bare, {label:<26} {clone_times[index]:7.2f} s"
            line += f"  cpu {cpu[0][index]:5.2f} s"
            if floor is not None:
                line += f"   {clone_times[index] / clone_times[floor]:5.2f}x the sshd floor"
                line += f" (cpu {cpu[0][index] / cpu[0][floor]:4.2f}x)"
            print(line)
        http = clone_times[-1]
        print(
            f"  git clone --bare, Hearth over HTTP           {http:7.2f} s   built-in SSH / HTTP "
            f"{clone_times[0] / http:5.2f}x"
        )
        for index, (label, _run, _url) in enumerate(routes):
            line = f"  git push (history), {label:<24} {push_times[index]:7.2f} s"
            line += f"  cpu {cpu[1][index]:5.2f} s"
            if floor is not None:
                line += f"   {push_times[index] / push_times[floor]:5.2f}x the sshd floor"
                line += f" (cpu {cpu[1][index] / cpu[1][floor]:4.2f}x)"
            print(line)
        print("  target: within 1.10x of the sshd floor")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
