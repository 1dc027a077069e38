"""The status bar says what `daemon --http`'s /readyz would say of the embedded scheduler."""

from __future__ import annotations

from datetime import UTC, datetime

from flowtui.engine.events import EngineFailed
from tui.helpers import MakeApp, loaded, wait_for


async def test_the_status_bar_shows_readiness(make_app: MakeApp) -> None:
    app = make_app(scheduler=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: app.status.status.health == "ready", "readiness")
        assert "running · ready" in str(app.status.render())
        assert app.scheduler is not None
        engine = app.scheduler.scheduler
        # the start pass runs after the scheduler says "running": let it end first, or its
        # end reports the scheduler ready again over the failure published below
        await wait_for(pilot, lambda: engine.last_report is not None, "the start pass")
        failure = "resync pass failed: the state store is not writable"
        app.scheduler.bus.publish(EngineFailed(failure, datetime.now(UTC)))
        expected = f"not ready: {failure}"
        await wait_for(pilot, lambda: app.status.status.health == expected, "the failure")
        assert expected in str(app.status.render())
