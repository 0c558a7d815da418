# SPDX-License-Identifier: GPL-3.0-or-later
"""Settings: environment over TOML, defaults derived from HEARTH_HOME, one clear line for bad values."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hearth.config import ConfigError, load_settings


def test_defaults_follow_home(tmp_path: Path) -> None:
    settings = load_settings({"HEARTH_HOME": str(tmp_path)}, config_file=tmp_path / "none.toml")
    assert settings.repos == tmp_path / "repos"
    assert settings.database_url == f"sqlite:///{tmp_path / 'hearth.db'}"
    assert (settings.host, settings.port, settings.api_access_controllers_whitelist) == (
        "127.0.0.1",
        5000,
        (),
    )


def test_environment_wins_over_toml(tmp_path: Path) -> None:
    toml = tmp_path / "hearth.toml"
    toml.write_text('port = 6000\nrealm = "From file"\n')
    env = {"HEARTH_HOME": str(tmp_path), "HEARTH_PORT": "7000", "HEARTH_CONFIG": str(toml),
           "HEARTH_API_ACCESS_CONTROLLERS_WHITELIST": "FilesController:raw, ChangesetController:*"}  # fmt: skip
    settings = load_settings(env)
    assert settings.port == 7000 and settings.realm == "From file"
    assert settings.api_access_controllers_whitelist == (
        "FilesController:raw",
        "ChangesetController:*",
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HEARTH_PORT", "http", "port: expected an integer, got 'http'"),
        (
            "HEARTH_DEFAULT_REPO_PRIVATE",
            "maybe",
            "default_repo_private: expected true or false, got 'maybe'",
        ),
        ("HEARTH_DEFAULT_REPO_TYPE", "svn", "default_repo_type: expected hg or git, got 'svn'"),
        (
            "HEARTH_DATABASE_URL",
            "mysql://x",
            "database_url: expected a sqlite:/// or postgresql:// URL, got 'mysql://x'",
        ),
        (
            "HEARTH_API_ACCESS_CONTROLLERS_WHITELIST",
            "RepoFilesView:raw@tok",
            "api_access_controllers_whitelist: entries of the form",
        ),
    ],
)
def test_bad_values_name_the_setting(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            {"HEARTH_HOME": str(tmp_path), name: value}, config_file=tmp_path / "none.toml"
        )
    assert str(info.value).startswith(message)


def test_unknown_toml_setting_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "hearth.toml"
    toml.write_text("prot = 6000\n")
    with pytest.raises(ConfigError, match=r"^prot: unknown setting in "):
        load_settings({"HEARTH_HOME": str(tmp_path)}, config_file=toml)


def test_serve_stops_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hearth", "serve"],
        env={"HEARTH_HOME": str(tmp_path), "HEARTH_PORT": "seventy", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "hearth: configuration error: port: expected an integer, got 'seventy'"
    ]


def test_serve_refuses_an_uninitialised_instance(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hearth", "serve"], env={"HEARTH_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2 and "hearth init" in result.stderr
