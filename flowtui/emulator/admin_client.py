"""A small synchronous client of the admin API (see admin.py), for tests, demo and benchmarks."""

from __future__ import annotations

from typing import Any

import httpx


class EmulatorAdmin:
    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.http = httpx.Client(base_url=f"{base_url}/_emulator", timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise ValueError(f"admin API {response.status_code}: {response.text}")
        return response.json()

    def reset(self, **fields: int) -> dict[str, Any]:
        """Re-seed: fields `flows`, `seed`, `gassapi_big_project` (defaults: start-up values)."""
        return self._json(self.http.post("/reset", json=fields))

    def state(self, platform: str | None = None) -> dict[str, Any]:
        return self._json(self.http.get(f"/state/{platform}" if platform else "/state"))

    def requests(self, platform: str | None = None) -> list[dict[str, Any]]:
        params = {"platform": platform} if platform else {}
        return self._json(self.http.get("/requests", params=params))["requests"]

    def clear_requests(self) -> None:
        self._json(self.http.delete("/requests"))

    def set_fault(self, platform: str, **fields: Any) -> dict[str, Any]:
        return self._json(self.http.put(f"/faults/{platform}", json=fields))

    def set_flow(self, platform: str, flow_id: str | int, **fields: Any) -> dict[str, Any]:
        return self._json(self.http.post(f"/{platform}/flows/{flow_id}", json=fields))

    def expire_tokens(self, platform: str) -> int:
        return self._json(self.http.post(f"/{platform}/expire-tokens"))["expired"]

    def webhook_url(self, name: str) -> str:
        """Where the emulator's webhook sink `name` receives notifications."""
        return f"{self.http.base_url}webhooks/{name}"  # base_url ends with "/_emulator/"

    def webhooks(self, name: str) -> list[Any]:
        """Bodies the sink `name` received, oldest first."""
        return [
            entry["body"] for entry in self._json(self.http.get(f"/webhooks/{name}"))["received"]
        ]

    def set_webhook(self, name: str, **fields: Any) -> dict[str, Any]:
        """`fail=N, status=S, hold=B` for the sink `name` (see flowtui.emulator.webhooks)."""
        return self._json(self.http.put(f"/webhooks/{name}", json=fields))
