# SPDX-License-Identifier: GPL-3.0-or-later
"""Small real repositories for the vcs tests, built with the real ``git`` and ``hg`` binaries.

Both backends get the same history, so one suite checks both (``STYLE.md``: write a suite once,
run it per backend). Authors, committers and dates are set explicitly; user and system
configuration is kept out so a developer's ``~/.gitconfig`` or ``~/.hgrc`` cannot change a result.
"""

from __future__ import annotations

import calendar
import fcntl
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HG = str(Path(sys.executable).with_name("hg"))
AUTHOR = "Alice Example <alice@example.com>"
COMMITTER = "Bob Committer <bob@example.com>"
BINARY = b"\x00\x01\x02binary\xff\xfe" * 10


def epoch(day: int, hour: int = 0) -> float:
    """2024-01-<day> <hour>:00:00 UTC as epoch seconds."""
    return float(calendar.timegm((2024, 1, day, hour, 0, 0)))


def clean_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        HGRCPATH="",
        HGPLAIN="1",
        HGENCODING="utf-8",
        LC_ALL="C.UTF-8",
        TZ="UTC",
    )
    return env


def run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{args} failed: {proc.stdout}{proc.stderr}")
    return proc.stdout


def git(cwd: Path, *args: str, date: float | None = None, author_date: float | None = None) -> str:
    env = clean_env(cwd)
    env.update(
        GIT_AUTHOR_NAME="Alice Example",
        GIT_AUTHOR_EMAIL="alice@example.com",
        GIT_COMMITTER_NAME="Bob Committer",
        GIT_COMMITTER_EMAIL="bob@example.com",
    )
    if date is not None:
        env["GIT_COMMITTER_DATE"] = f"@{int(date)} +0000"
        env["GIT_AUTHOR_DATE"] = f"@{int(author_date if author_date is not None else date)} +0000"
    return run(["git", *args], cwd=cwd, env=env)


def hg(cwd: Path, *args: str) -> str:
    return run([HG, *args], cwd=cwd, env=clean_env(cwd))


def hg_date(date: float) -> str:
    return f"{int(date)} 0"


def write(root: Path, files: dict[str, bytes | str | None]) -> None:
    """Write (or, for None, delete) files below ``root``."""
    for name, content in files.items():
        path = root / name
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


@dataclass
class Built:
    """A served repository (bare for git), the working copy it was made from, and named ids."""

    kind: str
    path: Path
    work: Path
    ids: dict[str, str] = field(default_factory=dict)

    def commit(
        self, name: str, files: dict[str, bytes | str | None], message: str, day: float
    ) -> str:
        """Add a commit on the current branch of ``work`` and publish it to ``path``."""
        write(self.work, files)
        if self.kind == "git":
            git(self.work, "add", "-A")
            git(self.work, "commit", "-q", "-m", message, date=day)
            git(self.work, "push", "-q", str(self.path), "HEAD")
            raw = git(self.work, "rev-parse", "HEAD").strip()
        else:
            hg(self.work, "commit", "-A", "-q", "-m", message, "-u", AUTHOR, "-d", hg_date(day))
            raw = hg(self.work, "log", "-r", ".", "-T", "{node}")
        self.ids[name] = raw
        return raw


# The shared history (dates are committer dates; git author dates lie a day earlier):
#   c0  2024-01-01  README.md, docs/guide.txt, src/main.py                  "initial"
#   c1  2024-01-02  README.md changed; a/b/deep.txt, c/file.txt, img.bin     "second\n\nbody line"
#       tag v1.0 -> c1
#   c2  2024-01-03  [feature] src/main.py changed, docs/guide.txt removed   "feature work"
#   c3  2024-01-04  [master/default] README.md changed, new.txt added       "master work"
#   c4  2024-01-05  merge of feature into master/default                    "merge feature"
#   hg only: c5 2024-01-06 "Added tag v1.0 for changeset …" (.hgtags); bookmark "mark" -> c2
FILES0 = {
    "README.md": "hello\nworld\n",
    "docs/guide.txt": "a guide\n",
    "src/main.py": "print('hi')\n",
}
FILES1 = {
    "README.md": "hello\nworld\nagain\n",
    "a/b/deep.txt": "deep\n",
    "c/file.txt": "c file\n",
    "img.bin": BINARY,
}
FILES2 = {"src/main.py": "print('hi')\nprint('feature')\n", "docs/guide.txt": None}
FILES3 = {"README.md": "hello, world\nworld\nagain\n", "new.txt": "new\n"}


def build_git(base: Path) -> Built:
    work, path = base / "git-work", base / "git-repo"
    run(["git", "init", "-q", "-b", "master", str(work)], env=clean_env(base))
    built = Built("git", path, work)

    def commit(name: str, files: dict[str, bytes | str | None], message: str, day: int) -> None:
        write(work, files)
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", message, date=epoch(day), author_date=epoch(day - 1))
        built.ids[name] = git(work, "rev-parse", "HEAD").strip()

    commit("c0", FILES0, "initial", 1)
    commit("c1", FILES1, "second\n\nbody line", 2)
    git(work, "tag", "-a", "v1.0", "-m", "release 1.0", date=epoch(2, 12))
    git(work, "checkout", "-q", "-b", "feature")
    commit("c2", FILES2, "feature work", 3)
    git(work, "checkout", "-q", "master")
    commit("c3", FILES3, "master work", 4)
    git(
        work,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "merge feature",
        "feature",
        date=epoch(5),
        author_date=epoch(4),
    )
    built.ids["c4"] = git(work, "rev-parse", "HEAD").strip()
    run(["git", "clone", "-q", "--bare", str(work), str(path)], env=clean_env(base))
    return built


def build_hg(base: Path) -> Built:
    work = base / "hg-repo"
    hg(base, "init", str(work))
    built = Built("hg", work, work)

    def commit(name: str, files: dict[str, bytes | str | None], message: str, day: int) -> None:
        write(work, files)
        hg(work, "commit", "-A", "-q", "-m", message, "-u", AUTHOR, "-d", hg_date(epoch(day)))
        built.ids[name] = hg(work, "log", "-r", ".", "-T", "{node}")

    commit("c0", FILES0, "initial", 1)
    commit("c1", FILES1, "second\n\nbody line", 2)
    hg(work, "branch", "-q", "feature")
    commit("c2", FILES2, "feature work", 3)
    hg(work, "update", "-q", "default")
    commit("c3", FILES3, "master work", 4)
    hg(work, "merge", "-q", "feature")
    hg(work, "commit", "-q", "-m", "merge feature", "-u", AUTHOR, "-d", hg_date(epoch(5)))
    built.ids["c4"] = hg(work, "log", "-r", ".", "-T", "{node}")
    hg(work, "tag", "-r", built.ids["c1"], "-u", AUTHOR, "-d", hg_date(epoch(6)), "v1.0")
    built.ids["c5"] = hg(work, "log", "-r", "tip", "-T", "{node}")
    hg(work, "bookmark", "-r", built.ids["c2"], "mark")
    return built


def build(kind: str, base: Path) -> Built:
    return build_git(base) if kind == "git" else build_hg(base)


def shared_build(kind: str, tmp_path_factory: Any, dest: Path) -> Built:
    """What ``build(kind, dest)`` makes, copied from the one build of the whole run.

    The history is the same every time (fixed authors, dates and messages), and building it
    takes some forty ``git`` and ``hg`` processes; seven modules use it, each on every pytest-xdist
    worker that runs its tests. The first to ask builds it below the run's shared temporary
    directory (under a lock, so workers wait for it instead of building it again); everyone gets a
    copy of their own, laid out below ``dest`` as ``build`` lays it out, to change as they like."""
    run_root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_root = run_root.parent  # shared by the workers of this run
    root = run_root / f"shared-history-{kind}"
    ids_file = root / "ids.json"
    with open(f"{root}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ids_file.exists():
            shutil.rmtree(root, ignore_errors=True)  # a build that failed half-way
            root.mkdir()
            ids_file.write_text(json.dumps(build(kind, root).ids))
    ids = json.loads(ids_file.read_text())
    if kind == "git":
        template = Built("git", root / "git-repo", root / "git-work", ids)
    else:
        template = Built("hg", root / "hg-repo", root / "hg-repo", ids)
    return copy_built(template, dest)


def copy_built(built: Built, dest: Path) -> Built:
    """A copy of ``built`` below ``dest``: building with the binaries is slow, copying is not."""
    dest.mkdir(parents=True, exist_ok=True)
    work = dest / built.work.name
    shutil.copytree(built.work, work, symlinks=True)
    path = work
    if built.path != built.work:
        path = dest / built.path.name
        shutil.copytree(built.path, path, symlinks=True)
    return Built(built.kind, path, work, dict(built.ids))


def tree_of_dir(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (VCS metadata left out) → bytes."""
    result = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.split("/")[0] in (".git", ".hg") or not path.is_file():
            continue
        result[rel] = path.read_bytes()
    return result


def make_git_history(base: Path, count: int) -> Path:
    """A bare git repository with ``count`` linear commits, made fast with ``git fast-import``."""
    path = base / "big.git"
    run(["git", "init", "-q", "--bare", str(path)], env=clean_env(base))
    lines = []
    for n in range(count):
        data = f"line {n}\n".encode()
        message = f"commit {n}\n".encode()
        stamp = int(epoch(1)) + n * 60
        lines.append(b"commit refs/heads/master\n")
        lines.append(b"mark :%d\n" % (n + 1))
        lines.append(b"author A <a@example.com> %d +0000\n" % stamp)
        lines.append(b"committer A <a@example.com> %d +0000\n" % stamp)
        lines.append(b"data %d\n%s" % (len(message), message))
        if n:
            lines.append(b"from :%d\n" % n)
        lines.append(b"M 100644 inline file%d.txt\ndata %d\n%s\n" % (n % 50, len(data), data))
    proc = subprocess.run(
        ["git", "--git-dir", str(path), "fast-import", "--quiet"],
        input=b"".join(lines),
        env=clean_env(base),
        capture_output=True,
    )
    assert proc.returncode == 0, proc.stderr
    return path


def checkout_at(built: Built, rev: str | None, dest: Path) -> None:
    """A working copy of ``built`` at ``rev`` (None: an empty working copy)."""
    env = clean_env(dest.parent)
    if built.kind == "git":
        run(["git", "clone", "-q", str(built.path), str(dest)], env=env)
        if rev is None:
            run(["git", "checkout", "-q", "--orphan", "empty"], cwd=dest, env=env)
            run(["git", "rm", "-rfq", "."], cwd=dest, env=env)
        else:
            run(["git", "checkout", "-q", rev], cwd=dest, env=env)
    else:
        hg(dest.parent, "clone", "-q", "-U", str(built.path), str(dest))
        hg(dest, "update", "-q", "-r", rev if rev is not None else "null")


def apply_patch(built: Built, dest: Path, patch: bytes) -> None:
    patch_file = dest.parent / f"{dest.name}.patch"
    patch_file.write_bytes(patch)
    if built.kind == "git":
        run(["git", "apply", "--whitespace=nowarn", str(patch_file)], cwd=dest, env=clean_env(dest))
    else:
        hg(dest, "import", "-q", str(patch_file))


def unpack(kind: str, data: bytes) -> dict[str, bytes]:
    if kind == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz" if kind == "tgz" else "r:bz2") as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}  # type: ignore[union-attr]


def publish(kind: str, work: Path, dest: Path, bookmarks: tuple[str, ...] = ()) -> None:
    """Publish everything of the working repository ``work`` to the served repository ``dest``."""
    if kind == "git":
        git(work, "push", "-q", str(dest), "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
    else:
        # -B alone would push only the bookmark's ancestors: name every changeset too
        marks = [f"-B{b}" for b in bookmarks]
        hg(work, "push", "-q", "--new-branch", "-r", "all()", *marks, str(dest))
