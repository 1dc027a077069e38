"""Write a large schedules.toml (benchmarks.workload: every rule form, three zones, offline
accounts) for timing `flowtui plan` from a shell:

    python -m benchmarks.big_schedules big.toml --rules 1000 --flows 10000
    time flowtui --config big.toml plan --json --hours 168 > /dev/null
"""

from __future__ import annotations

import argparse
from pathlib import Path

import tomli_w

from benchmarks.workload import OFFLINE_ACCOUNTS, rules_data, synthetic_ids


def big_schedules(rules: int, flows: int) -> str:
    """The TOML text of `rules` rules over `flows` flows."""
    ids = synthetic_ids(list(OFFLINE_ACCOUNTS), flows)
    accounts = {name: dict(account) for name, account in OFFLINE_ACCOUNTS.items()}
    accounts["crm"]["flow_ids"] = [int(i) for i in ids["crm"]]
    data = {"settings": {"timezone": "Europe/Berlin"}, "accounts": accounts}
    return tomli_w.dumps(data | rules_data(ids, rules))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--flows", type=int, default=10_000)
    args = parser.parse_args()
    args.path.write_text(big_schedules(args.rules, args.flows))


if __name__ == "__main__":
    main()
