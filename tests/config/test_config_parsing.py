"""schedules.toml parsing: the SPEC example, defaults, and located problems."""

from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from flowtui.config import (
    AccountWildcard,
    Bitrix24Account,
    ConfigError,
    ConfigProblem,
    UnknownReference,
    load_config,
    parse_config,
)
from flowtui.model import FlowRef, State

HERE = Path(__file__).parent
DIGA = '[accounts.support]\nkind = "diga"\ntoken_env = "DIGA_API_KEY"\n'


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "schedules.toml")
    return [str(problem) for problem in caught.value.problems]


def test_the_spec_example_parses() -> None:
    config = load_config(HERE / "spec_example.toml")
    assert config.settings.timezone == "Europe/Berlin"
    assert config.settings.refresh == timedelta(seconds=10)
    assert set(config.accounts) == {"support", "ops", "studio", "crm"}
    crm = config.accounts["crm"]
    assert isinstance(crm, Bitrix24Account)
    assert crm.flow_ids == (517, 518, 519)
    assert crm.secret_envs() == {"webhook_url": "B24_WEBHOOK_URL"}
    assert config.accounts["ops"].secret_envs() == {
        "token": "GASS_TOKEN",
        "refresh_token": "GASS_REFRESH_TOKEN",
    }
    sunday, christmas, nightly = config.maintenance
    assert sunday.form == "cron"
    assert sunday.duration == timedelta(hours=2)
    assert sunday.enforce
    assert christmas.form == "once"
    assert christmas.state is State.DISABLED
    assert christmas.after == "restore"
    assert nightly.form == "weekly"
    assert (nightly.from_, nightly.to) == (time(22), time(6))
    assert config.ab_switch[0].form == "cron"
    assert config.ab_switch[0].order == "break-before-make"


def test_defaults() -> None:
    config = parse_config(DIGA, "schedules.toml")
    account = config.accounts["support"]
    assert config.settings.timezone == "UTC"
    assert config.settings.confirm
    assert not config.settings.read_only
    assert account.base_url == "https://api.diga.io"
    assert account.concurrency == 50  # Diga documents no rate limit: a page at a time is slow
    assert account.timeout == timedelta(seconds=10)


def test_resolve_alias_ref_and_wildcard() -> None:
    config = parse_config(DIGA + '[flows]\nmain = "support:wf_1"\n', "schedules.toml")
    assert config.resolve("main") == FlowRef("support", "wf_1")
    assert config.resolve("support:wf_2") == FlowRef("support", "wf_2")
    assert config.resolve("support:*") == AccountWildcard("support")
    with pytest.raises(UnknownReference, match="unknown account 'suport'"):
        config.resolve("suport:1")
    with pytest.raises(UnknownReference, match="unknown flow alias 'mian'") as caught:
        config.resolve("mian")
    assert caught.value.hint == "did you mean 'main'?"


def test_problem_format() -> None:
    problem = ConfigProblem("schedules.toml", 12, 5, "bad", "fix it")
    assert str(problem) == "schedules.toml:12:5: error: bad (hint: fix it)"
    assert str(ConfigProblem("f", 1, 1, "bad")) == "f:1:1: error: bad"


def test_unknown_key_is_located_with_did_you_mean() -> None:
    assert problems(DIGA + "  concurency = 3\n") == [
        "schedules.toml:4:3: error: unknown key 'concurency' (hint: did you mean 'concurrency'?)"
    ]


def test_inline_secret_is_refused_without_echoing_it() -> None:
    found = problems('[accounts.support]\nkind = "diga"\ntoken_env = "X"\ntoken = "s3cret"\n')
    assert found == [
        "schedules.toml:4:1: error: inline secret 'token' is not allowed (hint: put secrets in"
        " the environment and name the variable with token_env (or *_env))"
    ]
    assert "s3cret" not in found[0]


def test_toml_syntax_error_is_located() -> None:
    assert problems("[settings]\ntimezone = Europe/Berlin\n")[0].startswith(
        "schedules.toml:2:12: error: TOML syntax: Invalid value"
    )


def test_every_problem_is_reported_at_once() -> None:
    text = (
        '[settings]\ntimezone = "Mars/Olympus"\nresync = "soon"\n'
        + DIGA
        + '[[maintenance]]\nname = "m"\nflows = ["support:1"]\ncron = "0 2 * *"\nduration = "1h"\n'
        + '[[ab_switch]]\nname = "s"\na = ["support:1"]\nb = ["support:2"]\nevery = "1h"\n'
    )
    found = problems(text)
    assert [line.split(": error: ")[0] for line in found] == [
        "schedules.toml:2:1",
        "schedules.toml:3:1",
        "schedules.toml:10:1",
        "schedules.toml:12:1",
    ]
    assert "unknown time zone 'Mars/Olympus'" in found[0]
    assert "'soon' is not a duration" in found[1]
    assert "has 4 fields, expected 5" in found[2]
    assert "rule 's' is missing start" in found[3]


def test_references_and_duplicate_names() -> None:
    text = (
        DIGA
        + '[flows]\nmain = "shop:1"\n'
        + '[[maintenance]]\nname = "m"\nflows = ["support:1", "mian"]\ncron = "0 2 * * *"\n'
        + 'duration = "1h"\n'
        + '[[maintenance]]\nname = "m"\nflows = ["support:*"]\nstart = 2026-01-01T00:00:00Z\n'
        + "end = 2026-01-02T00:00:00Z\n"
    )
    assert problems(text) == [
        "schedules.toml:5:1: error: unknown account 'shop' in 'shop:1'"
        " (hint: define it under [accounts])",
        "schedules.toml:8:23: error: unknown flow alias 'mian' (hint: did you mean 'main'?)",
        "schedules.toml:12:1: error: rule name 'm' is used twice"
        " (hint: give every rule a unique name)",
    ]


def test_one_off_window_must_end_after_start() -> None:
    text = (
        DIGA
        + '[[maintenance]]\nname = "m"\nflows = ["support:1"]\nstart = 2026-01-02T00:00:00Z\n'
        + "end = 2026-01-01T00:00:00Z\n"
    )
    assert problems(text) == [
        "schedules.toml:4:1: error: rule 'm': end is not after start (hint: swap start and end)"
    ]


def test_bitrix24_needs_exactly_one_auth_form() -> None:
    head = '[accounts.crm]\nkind = "bitrix24"\nflow_ids = [1]\n'
    assert "needs webhook_url_env, or OAuth" in problems(head)[0]
    assert (
        "both webhook_url_env and OAuth"
        in problems(head + 'webhook_url_env = "W"\ntoken_env = "T"\n')[0]
    )
    oauth = parse_config(
        head
        + 'base_url = "https://x.bitrix24.com"\ntoken_env = "T"\nrefresh_token_env = "R"\n'
        + 'client_id_env = "I"\nclient_secret_env = "S"\n',
        "schedules.toml",
    ).accounts["crm"]
    assert isinstance(oauth, Bitrix24Account)
    assert not oauth.uses_webhook
    assert oauth.secret_envs() == {
        "token": "T",
        "refresh_token": "R",
        "client_id": "I",
        "client_secret": "S",
    }


def test_unreadable_file_is_one_located_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing.toml:1:1: error: cannot read the file"):
        load_config(tmp_path / "missing.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)


def test_one_off_local_datetime_and_weekday_names() -> None:
    config = parse_config(
        DIGA
        + '[[maintenance]]\nname = "m"\nflows = ["support:1"]\nstart = 2026-01-01T00:00:00\n'
        + "end = 2026-01-01T01:00:00\n"
        + '[[maintenance]]\nname = "w"\nflows = ["support:1"]\ndays = ["Monday", "SUN"]\n'
        + 'from = "9:30"\nto = 10:00:00\n',
        "schedules.toml",
    )
    once, weekly = config.maintenance
    assert once.start == datetime(2026, 1, 1)
    assert weekly.days == ("mon", "sun")
    assert (weekly.from_, weekly.to) == (time(9, 30), time(10))
    assert once.start.tzinfo is None


def test_reference_problems_are_reported_with_other_problems() -> None:
    text = (
        DIGA
        + '[[maintenance]]\nname = "m"\nflows = ["shop:1"]\ncron = "0 2 * * *"\n'
        + 'duration = "soon"\n'
        + '[[ab_switch]]\nname = "s"\na = []\nb = ["support:2"]\nevery = "1h"\n'
        + "start = 2026-01-01T00:00:00Z\n"
    )
    assert problems(text) == [
        "schedules.toml:6:10: error: unknown account 'shop' in 'shop:1'"
        " (hint: define it under [accounts])",
        "schedules.toml:8:1: error: 'soon' is not a duration"
        " (hint: write e.g. 90s, 15m, 2h, 1d, 1h30m or ISO 8601 like PT2H)",
        "schedules.toml:11:1: error: a needs at least 1 item(s)",
    ]


def test_cron_that_never_fires_is_refused() -> None:
    text = DIGA + '[[maintenance]]\nname = "m"\nflows = ["support:1"]\ncron = "0 0 31 2 *"\n'
    assert problems(text + 'duration = "1h"\n') == [
        "schedules.toml:7:1: error: cron '0 0 31 2 *' never fires"
        " (hint: check day-of-month against the month)"
    ]


def test_a_secret_pasted_into_an_env_key_is_refused_without_echoing_it() -> None:
    found = problems('[accounts.support]\nkind = "diga"\ntoken_env = "sk-live-9f8e7d"\n')
    assert found == [
        "schedules.toml:3:1: error: token_env must name an environment variable, not hold a value"
        " (hint: write the variable's name, e.g. DIGA_API_KEY, and export the secret in it)"
    ]
