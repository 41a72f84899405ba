"""The gate agent: runs beside a lane, asks the centre, and decides alone when it
cannot reach it — with the same decide(), a signed permit snapshot, a durable
outbox, and an in-order replay when the link returns."""
