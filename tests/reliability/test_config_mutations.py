"""`flowtui check` on mutated text of real configuration files (the repository's
schedules.toml and the SPEC example): lines dropped, duplicated or swapped, characters
deleted or inserted, values swapped between keys. It never raises, exits 0 or 2, and every
line it prints on stderr is one problem located by file, line and column.

tests/config/test_config_fuzz.py fuzzes generated documents and mutated values; this adds
mutations of the text itself. ~200 cases in CI, 10,000 with `pytest -m long`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowtui.cli import main

ROOT = Path(__file__).parents[2]
SOURCES = [
    (ROOT / "schedules.toml").read_text(),
    (ROOT / "tests" / "config" / "spec_example.toml").read_text(),
]
NOISE = st.sampled_from(
    ['"', "'", "[", "]", "[[", "=", ",", "\n", "#", "{", "}", "\\", "*", "ä", "\x00", "  ",
     "1e999", "2026-02-30", "24:00", "-1", "true", "9" * 30, 'x = "', '"""']
)  # fmt: skip
SECRETS = {"DIGA_API_KEY", "GASS_TOKEN", "GASS_REFRESH_TOKEN", "RUNFLOW_API_KEY", "B24_WEBHOOK_URL"}


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """One of the sources with 1–4 random edits of its lines or characters."""
    lines = draw(st.sampled_from(SOURCES)).splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["drop", "duplicate", "swap", "cut", "insert", "value"]))
        line = lines[at]
        if edit == "drop":
            del lines[at]
        elif edit == "duplicate":
            lines.insert(at, line)
        elif edit == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], line
        elif edit == "value" and "=" in line:
            donor = draw(st.sampled_from([x for x in lines if "=" in x]))
            lines[at] = line.split("=", 1)[0] + "=" + donor.split("=", 1)[1]
        else:
            col = draw(st.integers(0, len(line)))
            cut = draw(st.integers(0, 3)) if edit == "cut" else 0
            lines[at] = line[:col] + (draw(NOISE) if edit == "insert" else "") + line[col + cut :]
        if not lines:
            lines = [""]
    return "".join(lines)


def _check(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "schedules.toml"
    target.write_text(text, encoding="utf-8", errors="surrogatepass")
    for name in SECRETS:
        monkeypatch.setenv(name, "set")
    result = CliRunner().invoke(main, ["--config", str(target), "check"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 2)
    located = re.compile(rf"^{re.escape(str(target))}:(\d+):(\d+): (error|warning): \S")
    problems = [line for line in result.stderr.splitlines() if line]
    assert (result.exit_code == 2) == any(": error: " in line for line in problems)
    for line in problems:
        match = located.match(line)
        assert match, f"not a located problem: {line!r}"
        assert 1 <= int(match[1]) <= text.count("\n") + 2
        assert int(match[2]) >= 1


def _fuzz(examples: int):  # type: ignore[no-untyped-def]
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@_fuzz(200)
@given(mutated())
def test_check_locates_every_problem_in_mutated_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    _check(tmp_path, text, monkeypatch)


@pytest.mark.long
@_fuzz(10_000)
@given(mutated())
def test_check_locates_every_problem_in_ten_thousand_mutated_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    _check(tmp_path, text, monkeypatch)


@pytest.mark.parametrize("duration", ["99999999999999999999999999999910s", "1000000d", "P9999999W"])
def test_an_absurd_duration_is_a_located_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duration: str
) -> None:
    """Found by the long fuzz: a duration too big for timedelta raised OverflowError."""
    text = SOURCES[0].replace('duration = "2h"', f'duration = "{duration}"', 1)
    assert duration in text
    _check(tmp_path, text, monkeypatch)
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "schedules.toml"), "check"])
    assert result.exit_code == 2
    assert f"duration '{duration}' is longer than 36525 days" in result.stderr
