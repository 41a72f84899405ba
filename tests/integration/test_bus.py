"""The event bus: fan-out, bounded queues, and Redis pub/sub across processes."""

from __future__ import annotations

import threading

import pytest

from kernel.bus import InProcessBus, RedisBus


def test_in_process_fan_out_by_channel_pattern():
    bus = InProcessBus()
    lane = bus.subscribe(["lane:P1-IN"])
    every_lane = bus.subscribe(["lane:*"])
    dispatch = bus.subscribe(["dispatch"])
    event = bus.publish("lane:P1-IN", "passage", {"plate": "苏E12345"})
    assert lane.get(timeout=10) == event
    assert every_lane.get(timeout=10) == event
    assert dispatch.get(timeout=0.05) is None


def test_closed_subscription_gets_nothing_more():
    bus = InProcessBus()
    sub = bus.subscribe(["x"])
    sub.close()
    bus.publish("x", "t", {})
    assert bus.subscriber_count == 0
    assert sub.get(timeout=0.05) is None


def test_a_slow_subscriber_cannot_grow_memory():
    bus = InProcessBus()
    sub = bus.subscribe(["x"], maxsize=3)
    for i in range(10):
        bus.publish("x", "t", {"i": i})
    got = [sub.get(timeout=10).data["i"] for _ in range(3)]
    assert got == [7, 8, 9]
    assert sub.missed == 7


@pytest.mark.redis
def test_redis_bus_delivers_across_processes_exactly_once(redis_url, redis_prefix):
    # Two bus instances stand for two gunicorn workers sharing Redis.
    writer = RedisBus(redis_url, redis_prefix)
    reader = RedisBus(redis_url, redis_prefix)
    try:
        sub = reader.subscribe(["lane:*"])
        sent = [writer.publish("lane:P1-IN", "passage", {"n": i}) for i in range(20)]
        received = [sub.get(timeout=30) for _ in range(20)]
        assert [e.id for e in received] == [e.id for e in sent]
        assert sub.get(timeout=0.3) is None  # nothing twice
    finally:
        writer.close()
        reader.close()


@pytest.mark.redis
def test_redis_bus_prefixes_isolate_parks(redis_url, redis_prefix):
    a = RedisBus(redis_url, redis_prefix + "a")
    b = RedisBus(redis_url, redis_prefix + "b")
    try:
        sub = b.subscribe(["*"])
        a.publish("lane:P1-IN", "passage", {})
        assert sub.get(timeout=0.5) is None
    finally:
        a.close()
        b.close()


@pytest.mark.redis
def test_redis_bus_listener_reconnects_after_losing_its_connection(redis_url, redis_prefix):
    import redis

    bus = RedisBus(redis_url, redis_prefix)
    try:
        sub = bus.subscribe(["x"])
        admin = redis.Redis.from_url(redis_url)
        # Only this bus's listener: the Redis is shared with the other test workers.
        mine = [c["id"] for c in admin.client_list(_type="pubsub")
                if c["name"] == bus.listener_name]
        killed = sum(admin.client_kill_filter(_id=client_id) for client_id in mine)
        assert killed >= 1
        # Publish until the re-subscribed listener hears one (bounded wait, no sleeps).
        done = threading.Event()
        for _ in range(600):  # up to a minute on a loaded machine
            bus.publish("x", "t", {})
            if sub.get(timeout=0.1) is not None:
                done.set()
                break
        assert done.is_set()
    finally:
        bus.close()
