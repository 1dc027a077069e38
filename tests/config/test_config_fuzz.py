"""No input makes parsing or `flowtui check` raise: every failure is located problems."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowtui.cli import main
from flowtui.config import ConfigError, ConfigProblem, load_config, parse_config

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
KEYS = st.sampled_from(
    [
        "settings", "accounts", "flows", "maintenance", "ab_switch", "keys", "kind", "diga",
        "gassapi", "runflow", "bitrix24", "token_env", "base_url", "flow_ids", "name", "cron",
        "duration", "start", "end", "days", "from", "to", "a", "b", "every", "timezone",
        "state", "after", "priority", "token", "x y", "ä",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.sampled_from(["diga", "bitrix24", "0 2 * * SUN", "2h", "s:1", "s:*", "Europe/Berlin"]),
    st.text(max_size=8),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.datetimes(),
    st.dates(),
    st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=5).map(tomli_w.dumps)


def _problems(parse: Callable[[], object]) -> list[ConfigProblem] | None:
    """The problems `parse` raised, or None when it gave a configuration."""
    try:
        parse()
    except ConfigError as error:
        return error.problems
    return None


def _assert_located(text: str) -> None:
    lines = text.count("\n") + 1
    problems = _problems(lambda: parse_config(text, "f.toml"))
    assert problems is None or problems
    for problem in problems or ():
        assert problem.file == "f.toml"
        assert 1 <= problem.line <= lines + 1
        assert problem.column >= 1
        assert "\n" not in str(problem)


@FUZZ
@given(st.text(max_size=200))
def test_any_text_gives_a_config_or_located_problems(text: str) -> None:
    _assert_located(text)


@FUZZ
@given(DOCUMENTS)
def test_any_toml_document_gives_a_config_or_located_problems(text: str) -> None:
    _assert_located(text)


@FUZZ
@given(st.binary(max_size=200))
def test_check_on_any_bytes_exits_0_or_2(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "schedules.toml"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["--config", str(path), "check"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code in (0, 2)
    problems = _problems(lambda: load_config(path))
    assert all(str(problem).startswith(str(path)) for problem in problems or ())


EXAMPLE = tomllib.loads((Path(__file__).parents[2] / "schedules.toml").read_text())


def _leaves(value: object, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [path] + [leaf for i, item in enumerate(value) for leaf in _leaves(item, (*path, i))]
    return [path]


def _replaced(document: Any, path: tuple, value: object) -> Any:
    if not path:
        return value
    copy = list(document) if isinstance(document, list) else dict(document)
    copy[path[0]] = _replaced(document[path[0]], path[1:], value)
    return copy


@FUZZ
@given(st.data())
def test_check_and_plan_on_a_mutated_example_exit_0_or_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: st.DataObject
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = data.draw(st.sampled_from(_leaves(EXAMPLE)))
    document = _replaced(EXAMPLE, path, data.draw(SCALARS))
    target = tmp_path / "schedules.toml"
    target.write_text(tomli_w.dumps(document))
    for command in (["check"], ["plan", "--from", "2027-03-27T00:00:00Z", "--hours", "30"]):
        result = CliRunner().invoke(main, ["--config", str(target), *command])
        assert result.exception is None or isinstance(result.exception, SystemExit), command
        assert result.exit_code in (0, 2)
