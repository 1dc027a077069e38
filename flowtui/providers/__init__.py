"""One adapter per platform behind the `Provider` interface."""

import sys
from types import ModuleType

# httpx imports its own command line (`httpx._main`: rich, pygments, click) whenever rich is
# installed, which textual guarantees: about 40% of httpx's import time, paid by every
# command that talks to a platform, for code flowtui never runs. An empty module in its
# place makes httpx fall back to its stub `main` (benchmarks/startup.py times the CLI).
sys.modules.setdefault("httpx._main", ModuleType("httpx._main"))
