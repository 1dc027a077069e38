from datetime import UTC, datetime

from flowtui.engine.events import EventBus, RuleFired

AT = datetime(2031, 11, 24, tzinfo=UTC)


async def test_every_subscriber_gets_every_event() -> None:
    bus = EventBus()
    first, second = bus.subscribe(), bus.subscribe()
    bus.publish(RuleFired("sunday", AT, flows=3))
    assert first.get_nowait() == second.get_nowait() == RuleFired("sunday", AT, flows=3)


async def test_a_slow_subscriber_loses_its_oldest_events_and_never_blocks() -> None:
    bus = EventBus(maxsize=2)
    queue = bus.subscribe()
    for flows in range(5):
        bus.publish(RuleFired("r", AT, flows=flows))
    assert [queue.get_nowait().flows, queue.get_nowait().flows] == [3, 4]
    assert bus.dropped == 3
    bus.unsubscribe(queue)
    bus.publish(RuleFired("r", AT, flows=9))
    assert queue.empty()
