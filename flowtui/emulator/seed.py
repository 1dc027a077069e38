"""Deterministic sample data: the same (flows, seed) always gives the same ids, names, states."""

from __future__ import annotations

import json
import random
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flowtui.emulator.state import (
    DIGA_CATEGORIES,
    BitrixFlow,
    DigaFlow,
    GassFlow,
    GassProject,
    RunflowFlow,
)

EPOCH = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
GASSAPI_USER_ID = "user_7f3a9c2e"
BITRIX24_FIRST_FLOW_ID = 517

_VERBS = ("Sync", "Notify", "Qualify", "Route", "Archive", "Score", "Enrich", "Escalate")
_NOUNS = ("leads", "invoices", "tickets", "call notes", "orders", "signups", "renewals", "churn")
_ALNUM = string.ascii_letters + string.digits


def _rng(seed: int, platform: str) -> random.Random:
    return random.Random(f"{platform}:{seed}")


def _name(rng: random.Random, index: int) -> str:
    return f"{rng.choice(_VERBS)} {rng.choice(_NOUNS)} {index + 1:04d}"


def _created(rng: random.Random, index: int) -> datetime:
    """Strictly increasing creation times: flow `index` is the index-th oldest."""
    return EPOCH + timedelta(hours=index * 3, seconds=rng.randrange(3600))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def diga_flows(count: int, seed: int) -> list[DigaFlow]:
    rng = _rng(seed, "diga")
    flows = []
    for index in range(count):
        created = _created(rng, index)
        published = rng.random() < 0.85
        enabled = published and rng.random() < 0.6
        category = rng.choice(DIGA_CATEGORIES)
        trigger = None
        if published or rng.random() < 0.5:
            trigger = {
                "name": "trigger",
                "type": "PIECE_TRIGGER",
                "valid": True,
                "displayName": "Call ended",
                "settings": {
                    "pieceName": rng.choice(("@diga/piece-diga", "@activepieces/piece-webhook")),
                    "pieceVersion": "0.3.1",
                    "triggerName": "call_ended",
                    "input": {},
                    "propertySettings": {},
                    "sampleData": {},
                },
                "nextAction": None,
            }
        flows.append(
            DigaFlow(
                id=diga_id(rng),
                name=_name(rng, index),
                created=created,
                updated=created + timedelta(minutes=rng.randrange(1, 5000)),
                status="ENABLED" if enabled else "DISABLED",
                flow_category=category,
                trigger=trigger,
                produced_variables=[f"var_{rng.randrange(100)}"] if rng.random() < 0.5 else [],
                consumed_variables=[],
                published=published,
            )
        )
    return flows


def diga_draft(flow_id: str, name: str, now: datetime) -> DigaFlow:
    """What `POST /v1/workflow/` creates: an empty, never-published draft."""
    return DigaFlow(
        id=flow_id,
        name=name,
        created=now,
        updated=now,
        status="DISABLED",
        flow_category="empty",
        trigger=None,
        produced_variables=[],
        consumed_variables=[],
        published=False,
    )


def diga_id(rng: random.Random) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(21))


def gassapi_data(
    count: int, seed: int, big_project: int = 0
) -> tuple[list[GassProject], list[GassFlow]]:
    """Member projects holding `count` flows round-robin (at most 50 each), an optional big
    project with `big_project` flows, and one project the user is not a member of."""
    rng = _rng(seed, "gassapi")
    member_count = max(2, -(-count // 50))
    projects = [
        GassProject(id=f"proj_{rng.randrange(16**8):08x}", name=f"Project {n + 1}", member=True)
        for n in range(member_count)
    ]
    placement = [projects[index % member_count] for index in range(count)]
    if big_project > 0:
        big = GassProject(id=f"proj_{rng.randrange(16**8):08x}", name="Big project", member=True)
        projects.append(big)
        placement += [big] * big_project
    foreign = GassProject(id=f"proj_{rng.randrange(16**8):08x}", name="Other team", member=False)
    projects.append(foreign)
    placement += [foreign] * 2
    flows = [_gass_flow(rng, index, project) for index, project in enumerate(placement)]
    return projects, flows


def _gass_flow(rng: random.Random, index: int, project: GassProject) -> GassFlow:
    created = _created(rng, index)
    folder = rng.randrange(3)
    return GassFlow(
        id="flow_" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(16)),
        name=_name(rng, index),
        description="Seeded by the flowtui emulator",
        project_id=project.id,
        folder_id=f"fld_{folder}" if folder else None,
        folder_name=f"Folder {folder}" if folder else None,
        flow_inputs=json.dumps([{"name": "payload", "type": "object", "required": False}]),
        flow_data=json.dumps({"version": "1.0", "steps": []}),
        ui_data=json.dumps({"nodes": [], "edges": []}),
        is_active=1 if rng.random() < 0.6 else 0,
        created_by=GASSAPI_USER_ID,
        created_at=created,
        updated_at=created + timedelta(minutes=rng.randrange(1, 5000)),
    )


def gassapi_new_flow(
    flow_id: str, project_id: str, fields: dict[str, Any], now: datetime
) -> GassFlow:
    return GassFlow(
        id=flow_id,
        name=str(fields["name"]),
        description=str(fields.get("description") or ""),
        project_id=project_id,
        folder_id=fields.get("folder_id"),
        folder_name=None,
        flow_inputs=json_text(fields.get("flow_inputs"), "[]"),
        flow_data=json_text(fields.get("flow_data"), '{"version":"1.0","steps":[]}'),
        ui_data=json_text(fields.get("ui_data"), '{"nodes":[],"edges":[]}'),
        is_active=1,
        created_by=GASSAPI_USER_ID,
        created_at=now,
        updated_at=now,
    )


def json_text(value: Any, default: str) -> str:
    if value is None:
        return default
    return value if isinstance(value, str) else json.dumps(value)


RUNFLOW_STATUS_WEIGHTS = (("active", 0.55), ("inactive", 0.35), ("draft", 0.07), ("archived", 0.03))


def runflow_org_ids() -> tuple[str, str]:
    """The key's organisation and another one it does not belong to (the same every run)."""
    rng = _rng(0, "runflow-org")
    return _uuid(rng), _uuid(rng)


def runflow_flows(count: int, seed: int, org_id: str) -> list[RunflowFlow]:
    rng = _rng(seed, "runflow")
    creator = _uuid(rng)
    flows = []
    for index in range(count):
        created = _created(rng, index)
        flow_id = _uuid(rng)
        name = _name(rng, index)
        roll, status = rng.random(), "active"
        for value, weight in RUNFLOW_STATUS_WEIGHTS:
            if roll < weight:
                status = value
                break
            roll -= weight
        nodes = [_runflow_node(rng, flow_id, n, created) for n in range(rng.randrange(1, 4))]
        fields: dict[str, Any] = {
            "id": flow_id,
            "slug": name.lower().replace(" ", "-"),
            "name": name,
            "description": "Seeded by the flowtui emulator",
            "cover_url": None,
            "org_id": org_id,
            "flow_type_code": "workflow",
            "category_code": rng.choice(("image", "video", "text")),
            "visibility_code": "private",
            "source_visibility_code": "private",
            "status_code": status,
            "version": rng.randrange(1, 9),
            "current_version_id": _uuid(rng),
            "estimated_cost": f"{rng.randrange(1, 500) / 100:.2f}",
            "context_variables": {},
            "run_count": rng.randrange(0, 5000),
            "avg_duration": f"{rng.randrange(100, 90000) / 1000:.3f}",
            "cost_per_run": f"{rng.randrange(1, 300) / 100:.2f}",
            "featured_at": None,
            "created_by": creator,
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "nodes": nodes,
            "inputs": [],
            "outputs": [],
            "created_by_user": {
                "id": creator,
                "email": "operator@flowtui.test",
                "first_name": "Flow",
                "last_name": "Operator",
                "avatar_url": None,
            },
            "recent_stars": [],
        }
        updated = created + timedelta(minutes=rng.randrange(1, 5000))
        flows.append(RunflowFlow(fields=fields, updated_at=updated))
    return flows


def _runflow_node(
    rng: random.Random, flow_id: str, index: int, created: datetime
) -> dict[str, Any]:
    stamp = created.isoformat().replace("+00:00", "Z")
    return {
        "id": _uuid(rng),
        "flow_id": flow_id,
        "slug": f"node-{index + 1}",
        "label": f"Step {index + 1}",
        "subtitle": None,
        "type_code": rng.choice(("model", "builtin", "input", "output")),
        "x": index * 240,
        "y": 0,
        "width": 200,
        "config": {},
        "collapsed": False,
        "model_id": None,
        "builtin_node_code": None,
        "comfyui_workflow_id": None,
        "sub_flow_id": None,
        "created_at": stamp,
        "updated_at": stamp,
        "flow": None,
        "inputs": [],
        "outputs": [],
    }


def bitrix24_flows(count: int, seed: int) -> list[BitrixFlow]:
    rng = _rng(seed, "bitrix24")
    flows = []
    for index in range(count):
        flows.append(
            BitrixFlow(
                fields=bitrix24_flow_fields(
                    BITRIX24_FIRST_FLOW_ID + index,
                    {
                        "name": _name(rng, index),
                        "description": "Seeded by the flowtui emulator",
                        "groupId": rng.randrange(1, 40),
                        "plannedCompletionTime": rng.choice((3600, 7200, 86400)),
                        "distributionType": rng.choice(("manually", "queue", "himself")),
                        "responsibleList": [["user", str(rng.randrange(1, 30))]],
                    },
                    active=rng.random() < 0.6,
                    activity=_created(rng, index),
                )
            )
        )
    return flows


def bitrix24_flow_fields(
    flow_id: int, data: dict[str, Any], *, active: bool, activity: datetime
) -> dict[str, Any]:
    """A flow as `tasks.flow.Flow.get` returns it, from `create`-style `flowData`."""
    return {
        "id": flow_id,
        "creatorId": 1,
        "ownerId": int(data.get("ownerId") or 1),
        "groupId": int(data.get("groupId") or 100 + flow_id),
        "templateId": int(data.get("templateId") or 0),
        "efficiency": 100,
        "active": active,
        "plannedCompletionTime": int(data["plannedCompletionTime"]),
        "activity": activity.isoformat(timespec="seconds"),
        "name": str(data["name"]),
        "description": str(data.get("description") or ""),
        "distributionType": str(data["distributionType"]),
        "responsibleList": data["responsibleList"],
        "demo": False,
        "responsibleCanChangeDeadline": flag(data.get("responsibleCanChangeDeadline"), False),
        "matchWorkTime": flag(data.get("matchWorkTime"), True),
        "taskControl": flag(data.get("taskControl"), False),
        "notifyAtHalfTime": flag(data.get("notifyAtHalfTime"), False),
        "notifyOnQueueOverflow": data.get("notifyOnQueueOverflow"),
        "notifyOnTasksInProgressOverflow": data.get("notifyOnTasksInProgressOverflow"),
        "notifyWhenEfficiencyDecreases": data.get("notifyWhenEfficiencyDecreases"),
        "taskCreators": data.get("taskCreators") or [["meta-user", "all-users"]],
        "team": data.get("team") or data["responsibleList"],
        "trialFeatureEnabled": False,
    }


def flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return str(value).lower() not in ("0", "false", "n", "")
