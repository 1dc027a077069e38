"""What a measure gets: the sizes of this run and the emulator, started on first use."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field

from benchmarks.emulated import Emulated, emulator
from benchmarks.harness import Sizes


@dataclass
class Bench:
    sizes: Sizes
    stack: ExitStack = field(default_factory=ExitStack)
    _emulated: Emulated | None = None

    def emulated(self, flows: int) -> Emulated:
        """The shared emulator, re-seeded with `flows` flows on every platform."""
        if self._emulated is None:
            self._emulated = self.stack.enter_context(emulator(flows, self.sizes.latency_ms))
        self._emulated.reset(flows)
        return self._emulated

    def close(self) -> None:
        self.stack.close()
