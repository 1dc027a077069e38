"""Starting and stopping the emulator in-process, and the admin reset/state basics."""

from __future__ import annotations

import socket

import httpx
import pytest

from flowtui.emulator.config import EmulatorConfig
from flowtui.emulator.server import run_in_thread


def test_run_in_thread_serves_then_stops() -> None:
    config = EmulatorConfig(flows=3, seed=5, token="tok")
    with run_in_thread(config) as running:
        assert running.base_url.startswith("http://127.0.0.1:")
        state = httpx.get(f"{running.base_url}/_emulator/state/diga").json()
        assert len(state["flows"]) == 3
        port = int(running.base_url.rsplit(":", 1)[1])
    with socket.socket() as probe:
        probe.settimeout(1)
        with pytest.raises(ConnectionRefusedError):
            probe.connect(("127.0.0.1", port))


def test_run_in_thread_on_a_given_port_refuses_a_busy_one() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        with (
            pytest.raises(OSError, match="in use"),
            run_in_thread(EmulatorConfig(flows=1), port=busy),
        ):
            pass


def test_start_up_config_decides_the_data() -> None:
    config = EmulatorConfig(flows=2, seed=5, token="tok", gassapi_big_project=101)
    with run_in_thread(config) as running:
        state = httpx.get(f"{running.base_url}/_emulator/state").json()
    assert {name: len(state[name]["flows"]) for name in state} == {
        "diga": 2,
        "gassapi": 2 + 101 + 2,  # the big project and the foreign project's two flows
        "runflow": 2,
        "bitrix24": 2,
    }


def test_reset_changes_size_and_clears_the_log(emu) -> None:
    httpx.get(f"{emu.diga_url}/v1/workflow/", headers={"Authorization": f"Bearer {emu.token}"})
    assert len(emu.requests()) == 1
    assert emu.reset(flows=4, seed=9) == {"flows": 4, "seed": 9}
    assert len(emu.state()["diga"]["flows"]) == 4
    assert emu.requests() == []


@pytest.mark.parametrize(
    ("body", "status"),
    [({"flows": -1}, 422), ({"flows": "3"}, 422), ({"colour": 1}, 422), ("[]", 400)],
)
def test_reset_rejects_bad_bodies(emu, body, status) -> None:
    kwargs = {"content": body} if isinstance(body, str) else {"json": body}
    response = emu.http.post("/reset", **kwargs)
    assert response.status_code == status
    assert "error" in response.json()


def test_unknown_platform_in_admin_is_404(emu) -> None:
    assert emu.http.get("/state/nope").status_code == 404
    assert emu.http.put("/faults/nope", json={}).status_code == 404
    assert emu.http.post("/nope/flows/1", json={}).status_code == 404


def test_set_flow_as_someone_else(emu) -> None:
    flow = emu.state("diga")["flows"][0]
    changed = emu.set_flow("diga", flow["id"], published=False, status="ENABLED")
    assert changed["published"] is False
    assert changed["status"] == "ENABLED"
    assert emu.http.post("/diga/flows/nope", json={"active": True}).status_code == 404
    assert emu.http.post(f"/diga/flows/{flow['id']}", json={"colour": 1}).status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("GET", "/diga/v2/nothing", 404, {"detail": "Not Found"}),
        ("DELETE", "/diga/v1/workflow/", 405, {"detail": "Method Not Allowed"}),
        ("GET", "/runflow/v1/nothing", 404, {"code": "NOT_FOUND"}),
        ("PUT", "/runflow/v1/flows", 405, {"code": "METHOD_NOT_ALLOWED"}),
        ("GET", "/gassapi/index.php", 404, {"message": "Not found: Route not found"}),
        ("GET", "/bitrix24/elsewhere", 404, {"error": "ERROR_METHOD_NOT_FOUND"}),
    ],
)
def test_unknown_paths_answer_in_each_platform_shape(emu, method, path, status, body) -> None:
    response = httpx.request(method, f"{emu.base_url}{path}")
    assert response.status_code == status
    assert body.items() <= response.json().items()
    assert emu.requests()[-1]["status"] == status
