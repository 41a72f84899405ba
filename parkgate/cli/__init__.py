"""The `parkgate` command: demo, database, audit, lot, records, users and tokens, bookings,
plates. One module per command group (parkgate/cli/*.py), as Redash's CLI is laid out;
this package is a composition root: it imports every feature."""

import audit as _audit_writer  # noqa: F401  # registers the chain's writer
import demo as _demo_scenes  # noqa: F401  # and the camera simulator's scenes
import dispatch as _lot_handlers  # noqa: F401  # and the lot's handlers of trip events

from . import audit_trail, bookings, db, lot, people, records, running  # noqa: F401  # their commands
from .base import main


def _add_plates() -> None:
    from camera_adapters.cli import plates

    main.add_command(plates)


_add_plates()

__all__ = ["main"]
