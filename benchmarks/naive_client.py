"""The refresh baseline: what a competent user writes without flowtui. One `httpx.Client`
(keep-alive), each platform's documented list endpoint paged one request at a time, the
platforms one after another; a 429 or 503 QUERY_LIMIT_EXCEEDED waits (Retry-After, else
1 s) and asks again. Bitrix24 has no list method: its configured ids are read 50 per
`batch`, one batch at a time.

    python -m benchmarks.naive_client '<target JSON>' PLATFORM... [--passes N]

prints `{"flows": {platform: count}, "passes": [seconds, ...]}`: the first pass opens the
connections, later passes reuse them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx

LIMITED = (429, 503)
WAIT_S = 1.0


def ask(client: httpx.Client, method: str, url: str, **kwargs: Any) -> Any:
    """The JSON answer, after waiting out rate limits."""
    while True:
        response = client.request(method, url, **kwargs)
        if response.status_code not in LIMITED:
            response.raise_for_status()
            return response.json()
        time.sleep(float(response.headers.get("Retry-After", WAIT_S)))


def diga(client: httpx.Client, target: dict[str, Any]) -> Iterator[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {target['token']}"}
    params: dict[str, Any] = {"limit": 30}
    while True:
        page = ask(
            client, "GET", f"{target['diga_url']}/v1/workflow/", params=params, headers=headers
        )
        yield from page["data"]
        if not page["has_more"]:
            return
        params["after"] = page["last_id"]


def gassapi(client: httpx.Client, target: dict[str, Any]) -> Iterator[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {target['token']}"}
    url = target["gassapi_url"]
    projects = ask(client, "GET", url, params={"act": "projects"}, headers=headers)["data"]
    for project in projects:
        params = {"act": "flows", "id": project["id"]}
        yield from ask(client, "GET", url, params=params, headers=headers)["data"]


def runflow(client: httpx.Client, target: dict[str, Any]) -> Iterator[dict[str, Any]]:
    headers = {
        "Authorization": f"Bearer {target['token']}",
        "X-Organization-Id": target["runflow_org_id"],
    }
    params: dict[str, Any] = {"limit": 500}
    url = f"{target['runflow_url']}/v1/flow-summaries"
    while True:
        page = ask(client, "GET", url, params=params, headers=headers)
        yield from page["items"]
        if not page["next_pq"]:
            return
        params["pq"] = page["next_pq"]


def bitrix24(client: httpx.Client, target: dict[str, Any]) -> Iterator[dict[str, Any]]:
    ids = target["bitrix24_ids"]
    for start in range(0, len(ids), 50):
        cmd = {f"f{i}": f"tasks.flow.Flow.get?flowId={i}" for i in ids[start : start + 50]}
        answer = ask(client, "POST", target["bitrix24_webhook"] + "batch", json={"cmd": cmd})
        yield from answer["result"]["result"].values()


LISTS = {"diga": diga, "gassapi": gassapi, "runflow": runflow, "bitrix24": bitrix24}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.naive_client")
    parser.add_argument("target", help="JSON: URLs, token, Bitrix24 webhook and ids")
    parser.add_argument("platforms", nargs="+", choices=list(LISTS))
    parser.add_argument("--passes", type=int, default=1)
    args = parser.parse_args(argv)
    target = json.loads(args.target)
    counts: dict[str, int] = {}
    passes: list[float] = []
    with httpx.Client(timeout=60) as client:
        for _ in range(args.passes):
            started = time.perf_counter()
            for platform in args.platforms:
                counts[platform] = sum(1 for _ in LISTS[platform](client, target))
            passes.append(time.perf_counter() - started)
    json.dump({"flows": counts, "passes": passes}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
