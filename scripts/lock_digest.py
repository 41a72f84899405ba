"""The digest of pyproject.toml's dependency lists that each lock file records, so a
test can tell a lock made from other dependencies than those declared now."""

import hashlib
import json
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def digest() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {"requires-python": project.get("requires-python"),
              "dependencies": sorted(project.get("dependencies", [])),
              "optional": {k: sorted(v) for k, v in
                           sorted(project.get("optional-dependencies", {}).items())},
              "overrides": (ROOT / "requirements/overrides.txt").read_text(encoding="utf-8"),
              "build": (ROOT / "requirements/build.in").read_text(encoding="utf-8")}
    text = json.dumps(wanted, sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


if __name__ == "__main__":
    print(digest())
