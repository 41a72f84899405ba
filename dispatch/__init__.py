"""The hazmat lot: check-in, zoning by hazard class, queues per plant, releases.

Importing the package subscribes the lot to the trip's moves (dispatch.handlers):
whoever moves a trip, the lot follows in the same transaction."""


def _subscribe() -> None:
    from kernel.messages import subscribe
    from trips.events import TripMoved

    from .handlers import on_trip_moved

    subscribe(TripMoved, on_trip_moved)


_subscribe()
