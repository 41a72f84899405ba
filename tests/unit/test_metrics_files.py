"""/metrics under several workers: one worker creating its file must not fail the
scrape of all the others' figures."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from parkgate.metrics import WorkerFiles


def test_a_file_a_worker_is_still_creating_is_left_out_of_the_sum(tmp_path: Path) -> None:
    for pid, count in ((101, 3.0), (102, 4.0)):
        values = MmapedDict(str(tmp_path / f"counter_{pid}.db"))
        values.write_value(mmap_key("parkgate_gate_decisions_total",
                                    "parkgate_gate_decisions_total", ["action", "offline"],
                                    ["OPEN", "false"], "Gate decisions by outcome"), count, 0)
        values.close()
    (tmp_path / "counter_103.db").touch()  # created, not yet sized

    registry = CollectorRegistry()
    registry.register(WorkerFiles(str(tmp_path)))  # type: ignore[arg-type]
    text = generate_latest(registry).decode()

    assert 'parkgate_gate_decisions_total{action="OPEN",offline="false"} 7.0' in text
