# SPDX-License-Identifier: GPL-3.0-or-later
"""HEAD of git repositories names a branch that exists (``services/heads.py``, issue 12 item 1).

Everything runs the real ``git`` against a live Hearth: pushes over HTTP, then ``git clone``
must check a branch out (no ``remote HEAD refers to nonexistent ref``); ``update_repo``
``landing_rev:branch:<name>`` and ``hearth repo set-default-branch`` move HEAD; imports
(``clone_uri``), forks and rescans end with a HEAD that names a branch.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.live import LiveServer, unique
from tests.test_admin_cli import hearth
from tests.vcs_clients import ADMIN, Clients, repo_url

NO_HEAD = "remote HEAD refers to nonexistent ref"


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Clients:
    return Clients(tmp_path_factory.mktemp("default-branch"))


def work_with(clients: Clients, *branches: str) -> Path:
    """A working copy holding ``branches``, each with a commit of its own file."""
    work = clients.path("w")
    clients.git("init", "-q", "-b", branches[0], str(work))
    clients.commit("git", work, name=f"{branches[0]}.txt")
    for branch in branches[1:]:
        clients.git("checkout", "-q", "-b", branch, branches[0], cwd=work)
        clients.commit("git", work, name=f"{branch}.txt")
    return work


def new_git_repo(server: LiveServer) -> tuple[str, str]:
    name = unique("db")
    server.ok("create_repo", repo_name=name, repo_type="git")
    return name, repo_url(server, name, *ADMIN)


def head_file(server: LiveServer, name: str) -> str:
    return (server.home / "repos" / name / "HEAD").read_text().strip()


def checked_out(clients: Clients, url: str) -> tuple[str, list[str]]:
    """Clone ``url``: the branch checked out and the files of the working tree."""
    proc = clients.clone("git", url)
    assert NO_HEAD not in proc.stderr, proc.stderr
    branch = clients.git("branch", "--show-current", cwd=proc.dest).stdout.strip()
    return branch, sorted(p.name for p in proc.dest.iterdir() if p.name != ".git")


def test_a_new_git_repository_names_the_default_branch(server: LiveServer) -> None:
    name, _url = new_git_repo(server)
    assert head_file(server, name) == "ref: refs/heads/main"


@pytest.mark.parametrize(
    ("branches", "pushed", "expected"),
    [
        (("main",), ("main",), "main"),
        (("develop",), ("develop",), "develop"),
        (("main", "feature"), ("feature", "main"), "main"),
        (("master", "feature"), ("feature", "master"), "master"),
    ],
    ids=["only-main", "only-develop", "main-and-feature", "master-and-feature"],
)
def test_the_first_push_decides_what_a_clone_checks_out(
    server: LiveServer,
    clients: Clients,
    branches: tuple[str, ...],
    pushed: tuple[str, ...],
    expected: str,
) -> None:
    name, url = new_git_repo(server)
    work = work_with(clients, *branches)
    clients.git("push", "-q", url, *pushed, cwd=work)
    # no waiting: HEAD is repaired before the push's answer ends
    assert head_file(server, name) == f"ref: refs/heads/{expected}"
    branch, files = checked_out(clients, url)
    assert branch == expected and f"{expected}.txt" in files
    ls = clients.git("ls-remote", "--symref", url, "HEAD").stdout
    assert f"ref: refs/heads/{expected}\tHEAD" in ls, ls
    raw = server.client.get(f"/{name}/raw/HEAD/{expected}.txt")  # public: no key needed
    assert (raw.status_code, raw.text) == (200, f"{expected}.txt\n")


def test_later_pushes_keep_an_existing_head(server: LiveServer, clients: Clients) -> None:
    name, url = new_git_repo(server)
    work = work_with(clients, "develop", "feature", "main")
    clients.git("push", "-q", url, "develop", cwd=work)
    clients.git("push", "-q", url, "feature", "main", cwd=work)
    assert head_file(server, name) == "ref: refs/heads/develop"
    # and git itself refuses to delete the branch HEAD names, so HEAD never dangles that way
    refused = clients.git("push", url, ":develop", cwd=work, check=False)
    assert refused.returncode != 0 and "deletion of the current branch" in refused.stderr
    assert checked_out(clients, url)[0] == "develop"


def test_update_repo_landing_rev_moves_head(server: LiveServer, clients: Clients) -> None:
    name, url = new_git_repo(server)
    clients.git("push", "-q", url, "main", "feature", cwd=work_with(clients, "main", "feature"))
    assert checked_out(clients, url)[0] == "main"

    result = server.ok("update_repo", repoid=name, landing_rev="branch:feature")
    assert result["msg"].startswith(f"updated repo ID:{result['repository']['repo_id']} {name}")
    assert "HEAD now points to branch `feature`" in result["msg"]
    assert result["repository"]["landing_rev"] == ["branch", "feature"]
    assert head_file(server, name) == "ref: refs/heads/feature"
    assert checked_out(clients, url) == ("feature", ["feature.txt", "main.txt"])

    # a branch that does not exist is refused, and nothing changes
    assert (
        server.err("update_repo", repoid=name, landing_rev="branch:nope", description="x")
        == f"failed to update repo `{name}`: branch `nope` does not exist"
    )
    assert head_file(server, name) == "ref: refs/heads/feature"
    repo = server.ok("get_repo", repoid=name)
    assert (repo["landing_rev"], repo["description"]) == (["branch", "feature"], name)

    # other landing revisions and other fields leave HEAD alone and the message as Kallithea's
    plain = server.ok("update_repo", repoid=name, landing_rev="rev:tip")
    assert plain["msg"] == f"updated repo ID:{repo['repo_id']} {name}"
    assert head_file(server, name) == "ref: refs/heads/feature"


def test_hearth_repo_set_default_branch(server: LiveServer, clients: Clients) -> None:
    name, url = new_git_repo(server)
    clients.git("push", "-q", url, "main", "feature", cwd=work_with(clients, "main", "feature"))

    done = hearth(server.env, "repo", "set-default-branch", name, "feature")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"HEAD of `{name}` now points to branch `feature`\n"
    assert checked_out(clients, url)[0] == "feature"

    done = hearth(server.env, "repo", "set-default-branch", name, "main", "--json")
    assert done.returncode == 0, done.stderr
    assert "HEAD now points to branch `main`" in done.stdout
    assert head_file(server, name) == "ref: refs/heads/main"

    done = hearth(server.env, "repo", "set-default-branch", name, "nope")
    assert done.returncode == 1
    assert f"failed to update repo `{name}`: branch `nope` does not exist" in done.stderr
    assert head_file(server, name) == "ref: refs/heads/main"

    hg_name = unique("dbhg")
    server.ok("create_repo", repo_name=hg_name, repo_type="hg")
    done = hearth(server.env, "repo", "set-default-branch", hg_name, "default")
    assert done.returncode == 1
    assert "only git repositories have a default branch" in done.stderr


def test_fork_and_import_keep_a_sensible_head(server: LiveServer, clients: Clients) -> None:
    name, url = new_git_repo(server)
    clients.git("push", "-q", url, "main", "feature", cwd=work_with(clients, "main", "feature"))
    server.ok("update_repo", repoid=name, landing_rev="branch:feature")

    fork = unique("dbfork")
    server.ok("fork_repo", repoid=name, fork_name=fork)
    assert head_file(server, fork) == "ref: refs/heads/feature"  # the source's choice
    assert checked_out(clients, repo_url(server, fork, *ADMIN))[0] == "feature"

    # a source whose HEAD names nothing (master pushed straight into the directory, by hand)
    stray, _ = new_git_repo(server)
    work = work_with(clients, "master")
    clients.git("push", "-q", str(server.home / "repos" / stray), "master", cwd=work)
    assert head_file(server, stray) == "ref: refs/heads/main"
    fork = unique("dbfork")
    server.ok("fork_repo", repoid=stray, fork_name=fork)
    assert head_file(server, fork) == "ref: refs/heads/master"

    imported = unique("dbimp")
    server.ok("create_repo", repo_name=imported, repo_type="git", clone_uri=repo_url(server, stray))
    assert head_file(server, imported) == "ref: refs/heads/master"
    assert checked_out(clients, repo_url(server, imported, *ADMIN))[0] == "master"


def test_rescan_registers_with_a_sensible_head(make_server, clients: Clients) -> None:
    live = make_server(default_branch="trunk")
    root = live.home / "repos"
    work = work_with(clients, "develop", "trunk")
    for name, branches in (("onlydevelop", ["develop"]), ("both", ["develop", "trunk"])):
        subprocess.run(
            ["git", "init", "-q", "--bare", "-b", "master", str(root / name)], check=True
        )
        clients.git("push", "-q", str(root / name), *branches, cwd=work)
    result = live.ok("rescan_repos")
    assert {"onlydevelop", "both"} <= set(result["added"])
    assert head_file(live, "onlydevelop") == "ref: refs/heads/develop"
    assert head_file(live, "both") == "ref: refs/heads/trunk"  # the setting default_branch
    assert checked_out(clients, repo_url(live, "onlydevelop"))[0] == "develop"

    name, _url = new_git_repo(live)
    assert head_file(live, name) == "ref: refs/heads/trunk"
