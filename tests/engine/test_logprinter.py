import io
import json
from datetime import UTC, datetime

from flowtui.engine.events import DriftDetected, EventBus, FlowChanged, PassCompleted
from flowtui.engine.logprinter import LogPrinter
from flowtui.model import FlowRef, State
from flowtui.providers.redaction import register_secret

AT = datetime(2031, 11, 29, 1, 0, 0, 12000, tzinfo=UTC)
FLOW = FlowRef("support", "wf_1")


def printed(fmt: str, *events: object) -> list[str]:
    bus = EventBus()
    stream = io.StringIO()
    printer = LogPrinter(bus, stream, fmt)
    for event in events:
        bus.publish(event)  # type: ignore[arg-type]
    printer.drain()
    return stream.getvalue().splitlines()


def test_human_lines_skip_pending_and_quiet_passes() -> None:
    lines = printed(
        "human",
        FlowChanged(FLOW, State.ENABLED, State.PENDING, "scheduler:db", "window", AT),
        FlowChanged(FLOW, State.ENABLED, State.DISABLED, "scheduler:db", "window", AT),
        DriftDetected(FLOW, State.ENABLED, State.DISABLED, "db", False, AT),
        PassCompleted("resync", AT, changed=0, failed=0, drifted=0),
    )
    assert lines == [
        "2031-11-29T01:00:00.012Z  support:wf_1  enabled → disabled  [scheduler:db: window]",
        "2031-11-29T01:00:00.012Z  support:wf_1  drift: is enabled, rule 'db' wants disabled;"
        " not corrected (rule does not enforce)",
    ]


def test_json_lines_carry_every_field_and_no_secret() -> None:
    register_secret("s3cr3t-token-value")
    [line] = printed(
        "json",
        FlowChanged(
            FLOW, None, State.UNKNOWN, "scheduler:db", "window", AT, "bad s3cr3t-token-value"
        ),
    )
    assert json.loads(line) == {
        "event": "flow_changed",
        "flow": "support:wf_1",
        "old": None,
        "new": "unknown",
        "changed_by": "scheduler:db",
        "reason": "window",
        "at": "2031-11-29T01:00:00.012000+00:00",
        "error": "bad ***",
    }
