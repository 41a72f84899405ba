"""The lock files agree with pyproject.toml: every declared requirement is pinned with
hashes in them, they were made from the dependencies declared now, the test lock
pins the server's packages at the same versions, and the desktop OpenCV build is in
neither. Fails until scripts/lock.sh is run after a dependency changes."""

from __future__ import annotations

import re
import runpy
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests import ROOT

LOCKS = {"runtime": ROOT / "requirements/runtime.lock", "dev": ROOT / "requirements/dev.lock"}
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    return {canonicalize_name(n): v for n, v in _PIN.findall(LOCKS[name].read_text())}


def project() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_every_declared_requirement_is_pinned_within_its_range():
    declared = {"runtime": project()["dependencies"],
                "dev": project()["dependencies"] + project()["optional-dependencies"]["dev"]}
    for name, requirements in declared.items():
        pinned = pins(name)
        for line in requirements:
            requirement = Requirement(line)
            version = pinned.get(canonicalize_name(requirement.name))
            assert version is not None, f"{requirement.name} is not in {name}.lock"
            assert requirement.specifier.contains(version, prereleases=True), \
                f"{name}.lock pins {requirement.name}=={version}, outside {requirement.specifier}"


def test_the_locks_were_made_from_the_dependencies_declared_now():
    digest = runpy.run_path(str(ROOT / "scripts/lock_digest.py"))["digest"]()
    for name, path in LOCKS.items():
        assert digest in path.read_text().splitlines()[0], \
            f"{name}.lock was made from other dependencies: run scripts/lock.sh"


def test_every_pin_has_hashes_and_the_test_lock_keeps_the_servers_versions():
    for path in LOCKS.values():
        text = path.read_text()
        assert len(_PIN.findall(text)) == len(re.findall(r"==.*\\\n\s+--hash=sha256:", text))
    runtime, dev = pins("runtime"), pins("dev")
    assert {n: dev.get(n) for n in runtime} == runtime


def test_no_desktop_opencv_and_no_training_tools_in_the_locks():
    for name in LOCKS:
        pinned = pins(name)
        assert "opencv-python" not in pinned and "opencv-python-headless" in pinned
        assert "torch" not in pinned
