"""The in-memory data of the four platforms.

One asyncio event loop serves every request and no handler awaits between reading and
writing a flow, so the stores need no locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from flowtui.emulator.clock import iso_z, mysql_datetime

T = TypeVar("T")

DIGA_CATEGORIES = ("post_call", "during_call", "pre_call", "call_launcher", "empty")


@dataclass
class DigaFlow:
    id: str
    name: str | None
    created: datetime
    updated: datetime
    status: str | None
    flow_category: str | None
    trigger: dict[str, Any] | None
    produced_variables: list[str]
    consumed_variables: list[str]
    published: bool  # internal: never part of an API answer

    def to_api(self) -> dict[str, Any]:
        """Exactly the fields of Diga's `FlowAllResponse`."""
        return {
            "id": self.id,
            "name": self.name,
            "created": iso_z(self.created),
            "updated": iso_z(self.updated),
            "status": self.status,
            "flow_category": self.flow_category,
            "trigger": self.trigger,
            "produced_variables": list(self.produced_variables),
            "consumed_variables": list(self.consumed_variables),
        }

    def to_raw(self) -> dict[str, Any]:
        return {**self.to_api(), "published": self.published}


@dataclass
class GassProject:
    id: str
    name: str
    member: bool  # whether the emulated user belongs to it

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


@dataclass
class GassFlow:
    id: str
    name: str
    description: str
    project_id: str
    folder_id: str | None
    folder_name: str | None
    flow_inputs: str
    flow_data: str
    ui_data: str
    is_active: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    running: bool = False  # internal: a run in progress blocks status changes

    def to_api(self, *, with_folder: bool = False) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "project_id": self.project_id,
            "folder_id": self.folder_id,
            "flow_inputs": self.flow_inputs,
            "flow_data": self.flow_data,
            "ui_data": self.ui_data,
            "is_active": self.is_active,
            "created_by": self.created_by,
            "created_at": mysql_datetime(self.created_at),
            "updated_at": mysql_datetime(self.updated_at),
        }
        if with_folder:
            row["folder_name"] = self.folder_name
        return row

    def to_raw(self) -> dict[str, Any]:
        return {**self.to_api(with_folder=True), "running": self.running}


@dataclass
class RunflowFlow:
    """A Runflow flow: the documented fields kept as one JSON-ready dict."""

    fields: dict[str, Any]
    updated_at: datetime

    @property
    def id(self) -> str:
        return str(self.fields["id"])

    def to_api(self) -> dict[str, Any]:
        return {**self.fields, "updated_at": iso_z(self.updated_at)}

    def to_summary(self) -> dict[str, Any]:
        names = (
            "id",
            "org_id",
            "slug",
            "name",
            "description",
            "status_code",
            "category_code",
            "visibility_code",
            "flow_type_code",
            "run_count",
            "estimated_cost",
            "created_at",
        )
        nodes = self.fields["nodes"]
        return {
            **{name: self.fields[name] for name in names},
            "updated_at": iso_z(self.updated_at),
            "node_count": len(nodes),
            "nodes": [
                {key: node[key] for key in ("id", "slug", "label", "type_code")} for node in nodes
            ],
        }

    def to_raw(self) -> dict[str, Any]:
        return self.to_api()


@dataclass
class BitrixFlow:
    """A Bitrix24 task flow: the fields `tasks.flow.Flow.get` documents, plus pin state."""

    fields: dict[str, Any]
    pinned: bool = False

    @property
    def id(self) -> int:
        return int(self.fields["id"])

    def to_api(self) -> dict[str, Any]:
        return dict(self.fields)

    def to_raw(self) -> dict[str, Any]:
        return {**self.fields, "pinned": self.pinned}


@dataclass
class OrderedStore(Generic[T]):
    """Flows by id plus their list order (newest first), rebuilt only after an insert."""

    items: dict[Any, T] = field(default_factory=dict)
    _order: list[Any] | None = None
    _position: dict[Any, int] = field(default_factory=dict)

    def add(self, key: Any, item: T) -> None:
        self.items[key] = item
        self._order = None

    def remove(self, key: Any) -> None:
        del self.items[key]
        self._order = None

    def order(self, sort_key: Any) -> list[Any]:
        """Keys newest first; `sort_key(item)` gives the ascending order to reverse."""
        if self._order is None:
            self._order = sorted(self.items, key=lambda k: sort_key(self.items[k]), reverse=True)
            self._position = {key: index for index, key in enumerate(self._order)}
        return self._order

    def position(self, key: Any, sort_key: Any) -> int | None:
        self.order(sort_key)
        return self._position.get(key)
