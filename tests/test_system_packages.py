"""bin/system-packages: the one list of Debian packages that `.ci/run`,
`make test` and `make run` install when missing.

Each test runs the script with a PATH of its own: stand-ins for the tools that
should be "installed", and a fake apt-get that records its arguments. The root
check reads SYSTEM_PACKAGES_UID instead of `id -u`."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SCRIPT = ROOT / "bin" / "system-packages"

# command on PATH -> the package that provides it
TOOLS = {
    "make": "make", "curl": "curl", "git": "git", "openssl": "openssl", "msgfmt": "gettext",
    "psql": "postgresql-client", "pg_isready": "postgresql-client",
    "redis-server": "redis-server", "redis-cli": "redis-tools",
    "chromium": "chromium", "chromedriver": "chromium-driver", "pg_ctlcluster": "postgresql",
}
ROOT_UID, USER_UID = "0", "1000"


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str
    apt_calls: list[str]


class Machine:
    """A PATH with stand-ins for the tools present, and a recording apt-get."""

    def __init__(self, tmp_path: Path):
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.apt_log = tmp_path / "apt-get.log"
        self.venv = tmp_path / "no-venv"  # no virtualenv yet: python3-venv is checked
        self.python = self._stub("python3", "exit 0")  # a Python whose ensurepip and venv import
        for command in TOOLS:
            self._stub(command, "exit 0")
        self._stub("fc-list", 'echo "Noto Sans CJK SC"')
        self._stub("apt-get", f'echo "$*" >> "{self.apt_log}"')

    def _stub(self, name: str, body: str) -> Path:
        path = self.bin / name
        path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        path.chmod(0o755)
        return path

    def remove(self, *commands: str) -> None:
        for command in commands:
            (self.bin / command).unlink()

    def run(self, *args: str, uid: str = ROOT_UID, **env: str) -> Run:
        result = subprocess.run(
            ["/bin/bash", str(SCRIPT), *args],
            env={"PATH": str(self.bin), "SYSTEM_PACKAGES_UID": uid, "PYTHON": str(self.python),
                 "VENV": str(self.venv), **env},
            capture_output=True, text=True, timeout=30,
        )
        calls = self.apt_log.read_text(encoding="utf-8").splitlines() if self.apt_log.exists() else []
        return Run(result.returncode, result.stdout, result.stderr, calls)


@pytest.fixture
def machine(tmp_path) -> Machine:
    return Machine(tmp_path)


def test_as_root_it_updates_then_installs_chromium_and_its_driver_when_chromium_is_missing(machine):
    machine.remove("chromium", "chromedriver")

    run = machine.run()

    assert run.status == 0, run.stderr
    assert run.apt_calls == ["update -q", "install -y -q --no-install-recommends chromium chromium-driver"]
    assert "installing chromium chromium-driver" in run.stdout


def test_as_root_it_installs_every_missing_package_once(machine):
    machine.remove("msgfmt", "psql", "pg_isready", "redis-cli", "fc-list")

    run = machine.run()

    assert run.status == 0, run.stderr
    assert run.apt_calls[0] == "update -q"
    installed = run.apt_calls[1].split()[4:]
    assert installed == ["gettext", "postgresql-client", "redis-tools", "fonts-noto-cjk"]


def test_without_root_it_prints_the_apt_get_command_and_fails_when_chromium_is_missing(machine):
    machine.remove("chromium", "chromedriver")

    run = machine.run(uid=USER_UID)

    assert run.status == 1
    assert run.apt_calls == []
    assert ("    sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium chromium-driver\n"
            in run.stderr)
    assert "only root can install them" in run.stderr
    assert "cannot go on without chromium." in run.stderr


def test_as_root_without_apt_get_it_prints_the_command_and_fails(machine):
    machine.remove("apt-get", "redis-server")

    run = machine.run()

    assert run.status == 1
    assert "apt-get is not available here" in run.stderr
    assert "sudo apt-get install -y --no-install-recommends redis-server\n" in run.stderr


def test_without_root_a_missing_recommended_package_is_named_but_does_not_stop_the_tests(machine):
    machine.remove("fc-list", "chromedriver")

    run = machine.run(uid=USER_UID)

    assert run.status == 0, run.stderr
    assert "sudo apt-get install -y --no-install-recommends chromium-driver fonts-noto-cjk\n" in run.stderr
    assert "going on without the recommended chromium-driver fonts-noto-cjk" in run.stderr
    assert run.apt_calls == []


@pytest.mark.parametrize("uid", [ROOT_UID, USER_UID])
def test_with_everything_present_it_installs_nothing(machine, uid):
    run = machine.run(uid=uid)

    assert run.status == 0, run.stderr
    assert run.stdout == "system packages: nothing to install\n"
    assert run.apt_calls == []


def test_a_chromium_named_by_chromium_path_counts_as_present(machine, tmp_path):
    machine.remove("chromium")
    elsewhere = tmp_path / "chrome-linux" / "chrome"
    elsewhere.parent.mkdir()
    elsewhere.write_text("#!/bin/sh\n", encoding="utf-8")
    elsewhere.chmod(0o755)

    run = machine.run(uid=USER_UID, CHROMIUM_PATH=str(elsewhere))

    assert run.status == 0, run.stderr
    assert "nothing to install" in run.stdout


def test_a_python_without_venv_asks_for_python3_venv_until_the_virtualenv_exists(machine):
    machine.python.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")  # import ensurepip fails

    assert machine.run(uid=USER_UID).status == 1
    assert "install -y --no-install-recommends python3-venv\n" in machine.run(uid=USER_UID).stderr

    (machine.venv / "bin").mkdir(parents=True)
    (machine.venv / "bin" / "python").write_text("#!/bin/sh\n", encoding="utf-8")
    (machine.venv / "bin" / "python").chmod(0o755)
    assert machine.run(uid=USER_UID).status == 0


def test_the_demo_needs_only_python_s_venv_when_the_translations_are_compiled(machine):
    for command in TOOLS:
        machine.remove(command)

    run = machine.run("run", uid=USER_UID)

    assert run.status == 0, run.stderr
    assert run.stdout == "system packages: nothing to install\n"


def test_ci_and_both_make_targets_use_this_script():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash bin/system-packages test" in ci
    assert "apt-get install" not in ci, ".ci/run installs packages through bin/system-packages only"
    assert "make test" in ci

    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "test: system-packages-test " in makefile
    assert "run: system-packages-run " in makefile
    # Under `make test` itself (CI), the inner make announces its directory first.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    dry_run = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    commands = [line for line in dry_run.stdout.splitlines() if not line.startswith("make[")]
    assert commands[0].endswith("bin/system-packages test")
