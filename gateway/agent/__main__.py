"""Run a gate agent: `python -m gateway.agent --centre URL --lane CODE --token TOKEN`.

Reads come from a camera (camera_adapters), a folder of images, or the simulator;
each is decided by the centre or, when it cannot be reached, locally.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path

from gateway.devices import HttpRelayController, SimulatedController

from .client import CentreClient
from .runner import Agent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--centre", default=os.environ.get("PARKGATE_CENTRE_URL",
                                                           "http://127.0.0.1:8000"))
    parser.add_argument("--lane", default=os.environ.get("PARKGATE_LANE"), required=False)
    parser.add_argument("--token", default=os.environ.get("PARKGATE_AGENT_TOKEN"))
    parser.add_argument("--state-dir", type=Path,
                        default=Path(os.environ.get("PARKGATE_AGENT_STATE", "agent-state")))
    parser.add_argument("--source", default=os.environ.get("PARKGATE_AGENT_SOURCE", "simulator"),
                        help="simulator | folder:PATH | rtsp://… | http://… (see camera_adapters)")
    parser.add_argument("--barrier-url", default=os.environ.get("PARKGATE_BARRIER_URL"))
    parser.add_argument("--interval", type=float, default=8.0,
                        help="seconds between simulated vehicles")
    parser.add_argument("--roi", default=os.environ.get("PARKGATE_AGENT_ROI"),
                        help="the lane's region of interest in the camera's frame, in "
                             "fractions: x0,y0,x1,y1 or a polygon x,y x,y x,y … (plates of "
                             "vehicles outside it, in the next lane, are not read)")
    args = parser.parse_args()
    if not args.lane or not args.token:
        parser.error("--lane and --token are required (or PARKGATE_LANE, PARKGATE_AGENT_TOKEN)")
    from camera_adapters.lane_view import RegionError, RegionOfInterest

    try:
        roi = RegionOfInterest.parse(args.roi) if args.roi else None
    except RegionError as exc:
        parser.error(f"--roi (or PARKGATE_AGENT_ROI) {args.roi!r}: {exc}")
    import demo  # noqa: F401  # the simulator's scenes (the agent's default source)
    from parkgate.logs import configure_logging

    configure_logging()
    metrics_port = os.environ.get("PARKGATE_AGENT_METRICS_PORT")
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(int(metrics_port), addr="127.0.0.1")
    controller = HttpRelayController(args.barrier_url) if args.barrier_url \
        else SimulatedController()
    agent = Agent(CentreClient(args.centre, args.token), args.lane, args.state_dir,
                  controller=controller).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    from camera_adapters.sources import reads_from

    try:
        for read in reads_from(args.source, args.lane, interval_s=args.interval, stop=stop,
                               roi=roi):
            outcome = agent.handle(read)
            logging.info("%s %s %s%s", read.plate, outcome.action, ",".join(outcome.reasons),
                         " (offline)" if outcome.offline else "")
    except KeyboardInterrupt:
        pass
    finally:
        agent.stop()


if __name__ == "__main__":
    main()
