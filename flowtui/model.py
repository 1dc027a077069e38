"""Small value types shared by config, rules, providers, engine and app. Pure: no I/O."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class State(StrEnum):
    """The state of one flow as flowtui sees it."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    NOT_PUBLISHED = "not_published"  # a Diga draft that was never published
    UNKNOWN = "unknown"  # could not be read
    PENDING = "pending"  # a change is in flight


class FlowRef(NamedTuple):
    """One flow of one account: written `account:flow_id`."""

    account: str
    flow_id: str

    @classmethod
    def parse(cls, text: str) -> FlowRef:
        account, sep, flow_id = text.partition(":")
        if not sep or not account or not flow_id:
            raise ValueError(f"flow reference {text!r} is not of the form account:flow_id")
        return cls(account, flow_id)

    def __str__(self) -> str:
        return f"{self.account}:{self.flow_id}"
