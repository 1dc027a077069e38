"""The emulator as one Starlette app: a mount per platform behind its fault gate, plus admin."""

from __future__ import annotations

import functools

from starlette.applications import Starlette
from starlette.routing import Mount, Router

from flowtui.emulator.admin import Admin
from flowtui.emulator.faults import PlatformGate
from flowtui.emulator.runtime import Emulator

DROP_HANG_S = 120.0


def build_app(emulator: Emulator) -> Starlette:
    admin = [*emulator.webhooks.routes(), *Admin(emulator).routes()]
    mounts = [Mount("/_emulator", routes=admin)]
    for name, platform in emulator.platforms.items():
        gate = PlatformGate(
            name,
            Router(platform.routes()),
            faults=functools.partial(emulator.faults.__getitem__, name),
            rng=emulator.rng,
            log=emulator.log,
            server_error=platform.server_error,
            http_error=platform.http_error,
            release=emulator.release,
            drop_hang_s=DROP_HANG_S,
        )
        mounts.append(Mount(f"/{name}", app=gate))
    app = Starlette(routes=mounts)
    app.state.emulator = emulator
    return app
