"""The peer baseline of `flowtui disable crm:*`: the same job written with fast-bitrix24
(PyPI `fast_bitrix24`, the `bench` extra), a popular client that batches and paces itself
(pool of 50, 2 req/s, its defaults): read every flow, `activate` (toggle) those that are
on, read the toggled ones again to verify.

    python -m benchmarks.peer_fast_bitrix24 WEBHOOK_URL ID...

prints `{"read", "toggled", "still_on"}`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from fast_bitrix24 import BitrixAsync

GET = "tasks.flow.Flow.get"


def active(answer: Any) -> bool:
    flow = answer.get("flow", answer) if isinstance(answer, dict) else {}
    return bool(flow.get("active"))


async def disable(webhook: str, ids: list[int]) -> dict[str, int]:
    bitrix = BitrixAsync(webhook, verbose=False)
    found = await bitrix.get_by_ID(GET, ids, ID_field_name="flowId")
    on = [int(flow_id) for flow_id, answer in found.items() if active(answer)]
    if on:
        await bitrix.call("tasks.flow.Flow.activate", [{"flowId": flow_id} for flow_id in on])
    after = await bitrix.get_by_ID(GET, on, ID_field_name="flowId") if on else {}
    still_on = sum(1 for answer in after.values() if active(answer))
    return {"read": len(found), "toggled": len(on), "still_on": still_on}


def main(argv: list[str] | None = None) -> int:
    webhook, *ids = argv if argv is not None else sys.argv[1:]
    json.dump(asyncio.run(disable(webhook, [int(i) for i in ids])), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
