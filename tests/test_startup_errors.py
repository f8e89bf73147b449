"""Start-up and configuration errors: one line per problem, naming the key and the fix; `tossup check`
asks the database (a dry run of the migrations) and Slack (tokens, scopes, channels) without changing or
posting anything."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import time
from pathlib import Path

import pytest
import yaml
from alembic import command
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from bot.config import AppConfig, ConfigError, load_config
from bot.config_errors import nearest
from bot.preflight import REQUIRED_SCOPES, CheckReport, check, database_problem
from bot.settings import Settings, StoreSettings
from store.db import DatabaseLocationError, alembic_config, dry_run_migrations, make_engine, migrate
from tests.db_fixtures import drop_database, fresh_database
from tests.fake_slack import DEFAULT_SCOPES, FakeSlack

ROOT = Path(__file__).resolve().parent.parent
GOOD_ENV = {"SLACK_BOT_TOKEN": "xoxb-123-abc", "SLACK_SIGNING_SECRET": "abcdef0123456789"}
FS = "C0FSCHAN"


def write_yaml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> list[str]:
    """The lines of the ConfigError that app.yaml `text` raises."""
    with pytest.raises(ConfigError) as error:
        load_config(write_yaml(tmp_path / "app.yaml", text))
    return str(error.value).splitlines()


BASE = f"channels:\n  fs: {FS}\n"


# ------------------------------------------------------------------------------------------ app.yaml


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"timzone: Asia/Tokyo\n{BASE}",
            "app.yaml: timzone: `timzone` is not a setting; did you mean `timezone`?",
        ),
        (
            f"{BASE}sla:\n  accept_within_hour: 3\n",
            "app.yaml: sla.accept_within_hour: `accept_within_hour` is not a setting; "
            "did you mean `accept_within_hours`?",
        ),
        (
            f"{BASE}digests:\n  weekly:\n    chanel: C0DIGEST\n    cron: '0 9 * * FRI'\n",
            "app.yaml: digests.weekly.chanel: `chanel` is not a setting; did you mean `channel`?",
        ),
    ],
)
def test_an_unknown_key_suggests_the_nearest_known_one(tmp_path: Path, text: str, expected: str) -> None:
    lines = config_error(tmp_path, text)
    assert [line.replace(str(tmp_path / "app.yaml"), "app.yaml") for line in lines] == [expected]


def test_an_unknown_key_with_nothing_close_lists_the_keys_of_its_section(tmp_path: Path) -> None:
    (line,) = config_error(tmp_path, f"{BASE}sla:\n  zzzz: 1\n")
    assert "sla.zzzz: `zzzz` is not a setting; known keys here: enabled, accept_within_hours" in line


@pytest.mark.parametrize("empty", ["channels:\n  fs:\n", "channels:\n  fs: ''\n", "channels:\n  fs: null\n"])
def test_an_empty_fs_channel_says_what_to_put_there(tmp_path: Path, empty: str) -> None:
    (line,) = config_error(tmp_path, empty)
    assert "channels.fs: set it to the ID of your FS channel (like C0123456789" in line
    assert "valid string" not in line


def test_an_empty_value_says_what_was_expected(tmp_path: Path) -> None:
    (line,) = config_error(tmp_path, f"{BASE}roles:\n  managers:\n")
    assert line.endswith("roles.managers: is empty: expected a list (- item lines, or [a, b])")


def test_a_digest_left_empty_is_named_not_silently_off(tmp_path: Path) -> None:
    (line,) = config_error(tmp_path, f"{BASE}digests:\n  weekly:\n")
    assert line.endswith(
        'digests.weekly: is empty: give { cron: "0 9 * * FRI" } (and a channel, else channels.fs), or remove'
        " the line to post none"
    )


def test_a_value_where_a_section_belongs_says_so(tmp_path: Path) -> None:
    (line,) = config_error(tmp_path, "channels: C0FS\n")
    assert line.endswith("channels: expected a section naming the FS channel, like { fs: C0123456789 }")
    (line,) = config_error(tmp_path, f"{BASE}routing: {{ rules: ['x'] }}\n")
    assert "routing.rules[0]" in line and "like `rules: [{ key: value }]`" in line, line
    (line,) = config_error(tmp_path, f"{BASE}roles: U0MANAGER\n")
    assert line.endswith(
        "roles: is a section of settings, not 'U0MANAGER': put its keys under it, like"
        " `roles: { key: value }` (see the app.yaml shipped with tossup)"
    )


def test_business_hours_as_people_write_them(tmp_path: Path) -> None:
    """An unquoted 18:00 is a number to YAML (1080): the fix is the quotes. "9:00" and day names are
    read as meant."""
    (line,) = config_error(tmp_path, f"{BASE}sla: {{ business_hours: {{ start: 09:00, end: 18:00 }} }}\n")
    assert line.endswith(
        'sla.business_hours.end: write the time in quotes, like "18:00" (unquoted, YAML reads it as a number)'
    )
    path = write_yaml(
        tmp_path / "ok.yaml", f'{BASE}sla: {{ business_hours: {{ start: "9:00", days: [MON, tue, 4] }} }}\n'
    )
    hours = load_config(path).sla.business_hours
    assert (hours.start, hours.days) == (time(9, 0), [0, 1, 4])
    for written in ("25:00", '"25:00"', '"9:75"'):  # no time of day, quoted or not: the quotes are no fix
        (line,) = config_error(tmp_path, f"{BASE}sla: {{ business_hours: {{ start: {written} }} }}\n")
        assert line.endswith('is not a time of day: write it in quotes as "HH:MM", like "09:00"'), line
        assert "sla.business_hours.start: " in line
    (line,) = config_error(tmp_path, f"{BASE}sla: {{ business_hours: {{ days: [Funday] }} }}\n")
    assert line.endswith(
        "sla.business_hours.days: working days are 0 (Monday) … 6 (Sunday) or MON … SUN, not ['Funday']"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "routing:\n  rules:\n    - { name: ent, channel: '#ent' }\n",
            "routing.rules[0] (name: ent).channel: '#ent' is not a Slack channel ID (like C0123456789",
        ),
        (
            "routing:\n  rules:\n    - { name: ent, pool: [bob] }\n",
            "routing.rules[0] (name: ent).pool[0]: 'bob' is not a Slack user ID (like U0123ABCD",
        ),
        (
            "routing:\n  rules:\n    - { name: Enterprise }\n",
            ".name: 'Enterprise' is not a name of lower-case letters, digits, - and _ (like enterprise)",
        ),
        (
            "memo:\n  custom_selects:\n    - { key: segment, label: Segment, options: [] }\n",
            "memo.custom_selects[0] (key: segment).label: expected a label in both languages, like { ja:",
        ),
        (
            "routing:\n  absent:\n    - { user: U0ABC, until: 2026/12/31 }\n",
            "routing.absent[0].until: '2026/12/31' is not a date: write it as YYYY-MM-DD, like 2026-12-31",
        ),
    ],
)
def test_a_value_of_the_wrong_shape_says_what_it_should_look_like(
    tmp_path: Path, text: str, expected: str
) -> None:
    lines = config_error(tmp_path, BASE + text)
    assert any(expected in line for line in lines), lines
    assert not any("should match pattern" in line or "instance of" in line for line in lines), lines


def test_a_criterion_on_an_unknown_field_is_named_at_its_rule_with_the_nearest_field(tmp_path: Path) -> None:
    rules = "".join(f"    - {{id: r{i}, kind: required, field: budget_status}}\n" for i in range(3))
    text = f"{BASE}criteria:\n  rules:\n{rules}    - {{id: competitors, kind: required, field: competitor}}\n"
    (line,) = config_error(tmp_path, text)
    assert "criteria.rules[3] (id: competitors).field: no memo field `competitor`" in line
    assert "did you mean `competitors`?" in line
    assert "(top level)" not in line


def test_every_cross_field_problem_is_shown_at_its_place(tmp_path: Path) -> None:
    text = (
        f"{BASE}routing:\n  rules:\n"
        "    - {name: by-source, match: {lead_sorce: [seminar]}}\n"
        "    - {name: seminars, match: {lead_source: [seminr]}}\n"
        "criteria:\n  rules:\n    - {id: src, kind: one_of, field: lead_source, values: [webinar]}\n"
    )
    lines = config_error(tmp_path, text)
    assert len(lines) == 3, lines
    assert "routing.rules[0] (name: by-source).match.lead_sorce: routing rules can only match" in lines[0]
    assert "did you mean `lead_source`?" in lines[0]
    assert (
        "routing.rules[1] (name: seminars).match.lead_source: no such option seminr; did you mean "
        in lines[1]
    )
    assert "criteria.rules[0] (id: src).values: no such option webinar" in lines[2]


def test_all_problems_are_shown_not_a_count(tmp_path: Path) -> None:
    text = f"{BASE}sla:\n  business_hours:\n    days: [8]\n    start: '25:00'\n    end: later\n"
    lines = config_error(tmp_path, text)
    assert len(lines) == 3, lines
    assert {line.split(": ", 2)[1] for line in lines} == {
        "sla.business_hours.days",
        "sla.business_hours.start",
        "sla.business_hours.end",
    }
    assert not any("more problem" in line for line in lines)


@pytest.mark.parametrize(
    ("text", "where", "advice"),
    [
        ("channels:\n  fs: [C0FS\n", ":2:7: not valid YAML (expected ',' or ']'", "close the [ … ]"),
        ("channels:\n  fs: a: b\n", ":2:8: not valid YAML (mapping values are not allowed here)", "quotes"),
        ("channels:\n\tfs: C0FS\n", ":2:1: not valid YAML", "spaces, not tabs"),
        ("channels:\n  fs: C0FS\n timezone: UTC\n", ":3:2: not valid YAML", "same indentation"),
        (  # an unquoted date that is not one: PyYAML raised a bare ValueError (a traceback at start)
            "channels: {fs: C0FS}\nsla:\n  business_hours: {holidays: [2026-13-01]}\n",
            ":3:31: not valid YAML ('2026-13-01' is not a date (month must be in 1..12))",
            "YYYY-MM-DD",
        ),
    ],
)
def test_malformed_yaml_is_one_line_with_file_line_and_column(
    tmp_path: Path, text: str, where: str, advice: str
) -> None:
    (line,) = config_error(tmp_path, text)
    assert line.startswith(f"{tmp_path / 'app.yaml'}{where}"), line
    assert advice in line


@pytest.mark.parametrize("text", ["", "# only comments\n", "\n\n"])
def test_an_empty_app_yaml_names_the_file(tmp_path: Path, text: str) -> None:
    (line,) = config_error(tmp_path, text)
    assert line.startswith(f"{tmp_path / 'app.yaml'}: the file is empty") and "channels.fs" in line


def test_a_file_that_is_not_utf8_or_not_a_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_bytes("channels: {fs: C0FS}\nlocale: ja # 日本語\n".encode("shift_jis"))
    with pytest.raises(ConfigError) as not_utf8:
        load_config(path)
    assert str(not_utf8.value).startswith(f"{path}: not UTF-8 text (byte ") and "save it as UTF-8" in str(
        not_utf8.value
    )
    with pytest.raises(ConfigError) as directory:
        load_config(tmp_path)
    assert (
        str(directory.value) == f"{tmp_path}: is a directory (set TOSSUP_CONFIG to the app.yaml file itself)"
    )


def test_a_list_at_the_top_level_says_what_is_expected(tmp_path: Path) -> None:
    (line,) = config_error(tmp_path, "- channels\n")
    assert "expected settings (key: value lines" in line and "found list" in line


@given(st.sampled_from(sorted(AppConfig.model_fields)), st.data())
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_a_top_level_key_with_one_letter_dropped_is_suggested(
    tmp_path: Path, key: str, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(key) - 1))
    typo = key[:index] + key[index + 1 :]
    if typo in AppConfig.model_fields or not typo or nearest(typo, AppConfig.model_fields) != key:
        return  # the typo is itself a key, or honestly closer to another one
    lines = config_error(tmp_path, f"{BASE}{typo}: 1\n")
    assert any(f"did you mean `{key}`?" in line for line in lines), lines


_YAML_TEXT = st.text(alphabet=st.sampled_from(list("abcfs:-[]{}'\" \n\t#&*!|>0123C")), max_size=60)


@given(_YAML_TEXT)
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_any_text_is_loaded_or_refused_with_lines_naming_the_file(tmp_path: Path, text: str) -> None:
    path = write_yaml(tmp_path / "app.yaml", text)
    try:
        load_config(path)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        assert lines and all(line.startswith(str(path)) for line in lines), lines
        assert not any(line.startswith((" ", "\t")) for line in lines)


# ------------------------------------------------------------------------------------------ the database


def test_an_unusable_sqlite_location_is_named_before_connecting(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(DatabaseLocationError) as error:
        make_engine(f"sqlite+aiosqlite:///{blocker / 'tossup.db'}")
    assert error.value.path == blocker / "tossup.db"
    assert error.value.reason == f"{blocker} is a file, not a directory"
    assert error.value.fix == f"move {blocker} out of the way"


def test_a_read_only_database_file_says_to_make_the_file_writable(tmp_path: Path) -> None:
    problem = DatabaseLocationError(
        tmp_path / "tossup.db",
        "the file is read-only for this user",
        fix="make the file readable and writable",
    )
    settings = StoreSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'tossup.db'}")
    assert database_problem(problem, settings).endswith(
        "the file is read-only for this user: make the file readable and writable, or point DATABASE_URL "
        "at a writable place"
    )


def test_a_read_only_directory_is_named(tmp_path: Path) -> None:
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    database = read_only / "tossup.db"
    try:
        if os.geteuid() != 0:
            with pytest.raises(DatabaseLocationError, match="read-only for this user"):
                make_engine(f"sqlite+aiosqlite:///{database}")
            return
        setpriv = shutil.which("setpriv")  # util-linux
        if setpriv is None:
            pytest.skip("root writes into read-only directories, and setpriv (util-linux) is not here")
        check = f"from store.db import make_engine; make_engine('sqlite+aiosqlite:///{database}')"
        run = subprocess.run(  # root writes anywhere by CAP_DAC_OVERRIDE: the check runs without it
            [setpriv, "--bounding-set", "-dac_override", sys.executable, "-c", check],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if run.stderr.startswith("setpriv:"):  # a container that keeps root from changing its capabilities
            pytest.skip(f"root writes into read-only directories, and {run.stderr.strip()}")
        assert run.returncode == 1, run.stderr
        assert run.stderr.strip().splitlines()[-1] == (
            f"store.db.DatabaseLocationError: {database}: the directory {read_only} is read-only for "
            "this user"
        ), run.stderr
    finally:
        read_only.chmod(0o755)


def test_an_unwritable_default_database_does_not_blame_an_unset_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    problem = DatabaseLocationError(
        tmp_path / "tossup.db", f"the directory {tmp_path} is read-only for this user"
    )
    line = database_problem(problem, StoreSettings())
    assert line.startswith(
        f"database: the SQLite file {tmp_path / 'tossup.db'} (the default, as DATABASE_URL"
    )
    assert "run tossup from a writable directory, or set DATABASE_URL" in line
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'tossup.db'}")
    line = database_problem(problem, StoreSettings())
    assert line.startswith(f"DATABASE_URL: the SQLite file {tmp_path / 'tossup.db'} cannot be written")


def test_run_names_the_sqlite_path_in_one_line(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    config = write_yaml(tmp_path / "app.yaml", BASE)
    set_env(
        clean_env,
        {**GOOD_ENV, "TOSSUP_CONFIG": str(config), "DATABASE_URL": f"sqlite+aiosqlite:///{blocker}/x/t.db"},
    )
    code, _, problems = cli(capsys, "run")
    assert code == 2
    assert problems == [
        f"tossup: DATABASE_URL: the SQLite file {blocker}/x/t.db cannot be written: {blocker} is a file, "
        f"not a directory: move {blocker} out of the way, or point DATABASE_URL at a writable place"
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_dry_run_of_the_migrations_changes_nothing(tmp_path: Path, backend: str) -> None:
    url = await fresh_database(backend, tmp_path, migrated=False)
    engine = make_engine(url)
    config = alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    previous = ScriptDirectory.from_config(config).get_revision(head).down_revision
    assert isinstance(previous, str)
    try:
        async with engine.begin() as connection:

            def upgrade_to_previous(sync: object) -> None:
                config.attributes["connection"] = sync
                command.upgrade(config, previous)

            await connection.run_sync(upgrade_to_previous)
        before = await _tables(engine)
        assert await dry_run_migrations(engine) == (previous, head)
        assert await _tables(engine) == before
        async with engine.connect() as connection:
            assert (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar() == previous
        await migrate(engine)
        assert await dry_run_migrations(engine) == (head, head)
    finally:
        await engine.dispose()
        await drop_database(url)


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


# ------------------------------------------------------------------------------------------ start-up


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No tossup setting from the outer environment; the working directory is tmp_path (no .env). The
    command line's logging set-up, run in this process, is undone afterwards."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "TOSSUP_", "DATABASE_URL", "PORT")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logging.root.manager.loggerDict)]
    saved = [(logger, logger.level, logger.handlers[:], logger.propagate) for logger in loggers]
    yield monkeypatch
    for logger, level, handlers, propagate in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def tossup_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("tossup: ")]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], list[str]]:
    """`tossup <args>` in this process: exit code, stdout lines, stderr's `tossup:` lines."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out.splitlines(), tossup_lines(err)


async def cli_in_thread(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], list[str]]:
    """`cli` off the test's event loop, so the fake Slack on that loop can answer."""
    code = await asyncio.to_thread(main, list(args))
    out, err = capsys.readouterr()
    return code, out.splitlines(), tossup_lines(err)


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


async def test_a_port_in_use_stops_start_with_one_line_naming_port(
    slack: FakeSlack, tmp_path: Path, taken_port: int
) -> None:
    env = {
        **GOOD_ENV,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_API_URL": slack.base_url,
        "TOSSUP_CONFIG": str(write_yaml(tmp_path / "app.yaml", BASE)),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tossup.db'}",
        "PORT": str(taken_port),
    }
    result = await _run_cli_async("run", env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [  # that one line only: no traceback, no "tossup stopped"
        f"tossup: PORT: {taken_port} is already in use on 0.0.0.0 (another tossup, or another program, "
        "listens there): stop it, or set PORT to a free port"
    ]


async def _run_cli_async(
    *args: str, env: dict[str, str], cwd: Path, merged: bool = False
) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess (how an operator meets it) without blocking the fake Slack's loop;
    `merged`: stderr into the same pipe as stdout (`tossup check > report.txt 2>&1`)."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOSSUP_", "DATABASE_URL", "PORT"))
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env={**clean, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merged else asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    return subprocess.CompletedProcess(
        list(args), process.returncode or 0, stdout.decode(), (stderr or b"").decode()
    )


@pytest.mark.parametrize("command", ["run", "check"])
async def test_an_api_url_without_api_blames_the_url_not_the_token(
    slack: FakeSlack,
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    set_env(
        clean_env,
        {
            **GOOD_ENV,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_API_URL": slack.origin + "/",
            "TOSSUP_CONFIG": str(write_yaml(tmp_path / "app.yaml", BASE)),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tossup.db'}",
        },
    )
    code, _, lines = await cli_in_thread(capsys, command)
    assert code == 2
    assert [line for line in lines if "check failed" not in line] == [
        f"tossup: SLACK_API_URL: {slack.origin}/ did not answer like Slack's Web API (HTTP 404, not Slack's "
        "JSON): it must end in /api/, e.g. https://slack.com/api/"
    ]


def test_every_app_yaml_problem_is_its_own_line_at_start(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_yaml(tmp_path / "app.yaml", f"timzone: UTC\n{BASE}sla:\n  accept_within_hour: 3\n")
    set_env(clean_env, {**GOOD_ENV, "TOSSUP_CONFIG": str(config)})
    assert cli(capsys, "run") == (
        2,
        [],
        [
            f"tossup: {config}: timzone: `timzone` is not a setting; did you mean `timezone`?",
            f"tossup: {config}: sla.accept_within_hour: `accept_within_hour` is not a setting; "
            "did you mean `accept_within_hours`?",
        ],
    )


def test_problems_found_across_keys_show_beside_a_misspelt_key(tmp_path: Path) -> None:
    """pydantic checks across keys (a criteria rule's field) only when nothing else failed: a typo hid
    them until it was fixed. Unknown keys are set aside and the file checked again, so one run shows both."""
    lines = config_error(
        tmp_path,
        f"{BASE}timzone: UTC\ncriteria:\n  rules:\n"
        "    - {id: competitors, field: competitor, kind: required}\n",
    )
    file = tmp_path / "app.yaml"
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"{file}: timzone: `timzone` is not a setting; did you mean `timezone`?")
    assert lines[1].startswith(f"{file}: criteria.rules[0] (id: competitors).field: no memo field")
    assert "did you mean `competitors`?" in lines[1]


def test_a_faulty_value_is_not_replaced_by_its_default_in_another_check(tmp_path: Path) -> None:
    """Only unknown keys are set aside: a check across keys never reads a default in place of a faulty
    value and reports it as the file's (the lease against the Slack timeout would have said 300)."""
    lines = config_error(
        tmp_path, f"{BASE}timzone: UTC\ndelivery:\n  lease_seconds: soon\n  slack_timeout_seconds: 60\n"
    )
    assert [line.split(": ")[1] for line in lines] == ["timzone", "delivery.lease_seconds"], lines
    assert not [line for line in lines if "300" in line]


# ------------------------------------------------------------------------------------------ tossup check


@pytest.fixture
def check_env(slack: FakeSlack, tmp_path: Path, clean_env: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment `tossup check` reads, pointed at the fake Slack (in this process)."""
    env = {
        **GOOD_ENV,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_API_URL": slack.base_url,
        "TOSSUP_CONFIG": str(write_yaml(tmp_path / "app.yaml", BASE)),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tossup.db'}",
    }
    set_env(clean_env, env)
    slack.scopes.append("channels:read")
    slack.channels[FS] = {"name": "fs-team", "is_member": True}
    return env


def _no_posts(slack: FakeSlack) -> None:
    assert not [call for call in slack.calls if call.method.startswith(("chat.", "files.", "views."))]


async def test_check_asks_slack_and_the_database_and_says_where_notices_go(
    slack: FakeSlack, check_env: dict[str, str], tmp_path: Path
) -> None:
    await _migrated(check_env)
    report = await check(offline=False)
    assert report.ok, report.problems
    assert any(
        line.startswith("database sqlite+aiosqlite:///") and "schema up to date" in line
        for line in report.passed
    )
    assert "SLACK_BOT_TOKEN: OK (bot @tossup in Fake Team, user id U0BOT)" in report.passed
    assert (
        f"channels.fs: posts go to #fs-team ({FS}); the bot is a member and can post there" in report.passed
    )
    assert [call.args["channel"] for call in slack.calls_to("conversations.info")] == [FS]
    _no_posts(slack)


async def _migrated(env: dict[str, str]) -> None:
    engine = make_engine(env["DATABASE_URL"])
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


async def test_check_on_a_new_database_file_creates_nothing(
    slack: FakeSlack, check_env: dict[str, str], tmp_path: Path
) -> None:
    report = await check(offline=False)
    assert report.ok, report.problems
    assert any(f"{tmp_path / 'tossup.db'} does not exist yet" in line for line in report.passed)
    assert not (tmp_path / "tossup.db").exists()


def _only(report: CheckReport) -> str:
    assert len(report.problems) == 1, report.problems
    return report.problems[0]


async def test_check_fails_on_an_unreachable_database(
    check_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert _only(await check(offline=False)).startswith("DATABASE_URL: cannot open the database: ")


async def test_check_fails_on_a_token_slack_refuses(slack: FakeSlack, check_env: dict[str, str]) -> None:
    slack.error_next("auth.test", "invalid_auth")
    assert _only(await check(offline=False)) == "SLACK_BOT_TOKEN: Slack refused it (invalid_auth)"


async def test_check_fails_on_an_app_token_slack_refuses(
    slack: FakeSlack, check_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-x")
    slack.error_next("apps.connections.open", "invalid_auth")
    assert _only(await check(offline=False)) == "SLACK_APP_TOKEN: Slack refused it (invalid_auth)"


async def test_check_names_missing_scopes(slack: FakeSlack, check_env: dict[str, str]) -> None:
    slack.scopes.remove("im:write")
    slack.scopes.remove("files:write")
    problem = _only(await check(offline=False))
    assert problem.startswith("SLACK_BOT_TOKEN: the app lacks the scopes im:write, files:write: add them")


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        (None, f"channels.fs: the bot cannot see channel {FS} (channel_not_found): check the ID"),
        (
            {"name": "fs-team", "is_archived": True, "is_member": True},
            "channels.fs: #fs-team (C0FSCHAN) is archived",
        ),
        (
            {"name": "fs-team", "is_private": True},
            f"channels.fs: the bot cannot see channel {FS} (channel_not_found)",
        ),
    ],
)
async def test_check_fails_when_the_bot_cannot_post_in_the_notice_channel(
    slack: FakeSlack, check_env: dict[str, str], channel: dict[str, object] | None, expected: str
) -> None:
    slack.channels.pop(FS)
    if channel is not None:
        slack.channels[FS] = channel
    assert _only(await check(offline=False)).startswith(expected)
    _no_posts(slack)


async def test_check_needs_chat_write_public_for_a_channel_the_bot_is_not_in(
    slack: FakeSlack, check_env: dict[str, str]
) -> None:
    slack.channels[FS] = {"name": "fs-team", "is_member": False}
    report = await check(offline=False)
    assert (
        f"channels.fs: posts go to #fs-team ({FS}); the bot can post there (chat:write.public)"
        in report.passed
    )
    slack.scopes.remove("chat:write.public")
    problems = (await check(offline=False)).problems
    assert any(p.startswith("SLACK_BOT_TOKEN: the app lacks the scope chat:write.public") for p in problems)
    assert f"channels.fs: the bot cannot post in #fs-team ({FS}): invite the bot to it" in problems[-1]


async def test_without_channels_read_check_looks_at_the_channel_history_instead(
    slack: FakeSlack, check_env: dict[str, str]
) -> None:
    slack.scopes.remove("channels:read")  # the shipped manifests do not ask for it
    slack.channels[FS] = {"name": "fs-team", "is_member": False}
    report = await check(offline=False)
    assert report.ok, report.problems
    assert any("a public channel; the bot can post (chat:write.public)" in line for line in report.passed)
    assert [call.args.get("limit") for call in slack.calls_to("conversations.history", ok_only=False)] == [
        "1"
    ]
    _no_posts(slack)


async def test_check_names_every_channel_it_posts_to(
    slack: FakeSlack, check_env: dict[str, str], tmp_path: Path
) -> None:
    write_yaml(
        tmp_path / "app.yaml",
        f"{BASE}routing:\n  rules:\n    - {{name: big, match: {{}}, channel: C0BIG}}\n"
        "digests:\n  weekly: {channel: C0WEEK, cron: '0 9 * * FRI'}\n",
    )
    slack.channels["C0WEEK"] = {"name": "weekly", "is_member": True}
    report = await check(offline=False)
    assert report.problems == [
        "routing.rules[0] (name: big).channel: the bot cannot see channel C0BIG (channel_not_found): check "
        "the ID (channel details, at the bottom); for a private channel, invite the bot to it (/invite "
        "@your-bot in the channel)"
    ]
    assert (
        "digests.weekly.channel: posts go to #weekly (C0WEEK); the bot is a member and can post there"
        in report.passed
    )


def test_check_offline_checks_the_format_only_and_exits_non_zero_on_any_problem(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_yaml(tmp_path / "app.yaml", BASE)
    set_env(clean_env, {**GOOD_ENV, "TOSSUP_CONFIG": str(config), "SLACK_API_URL": "http://127.0.0.1:1/api/"})
    code, out, problems = cli(capsys, "check", "--offline")
    assert (code, problems) == (0, [])
    assert out[-1] == "tossup: check passed (format only)"
    assert not (tmp_path / "tossup.db").exists()
    write_yaml(tmp_path / "app.yaml", "timzone: UTC\nchannels:\n  fs:\n")
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxp-1")
    assert cli(capsys, "check", "--offline")[::2] == (
        2,
        [
            f"tossup: {config}: timzone: `timzone` is not a setting; did you mean `timezone`?",
            f"tossup: {config}: channels.fs: set it to the ID of your FS channel (like C0123456789: in "
            "Slack, open the channel's details; the ID is at the bottom)",
            "tossup: SLACK_BOT_TOKEN: must start with xoxb- (the Bot User OAuth Token)",
            "tossup: check failed: 3 problems above",
        ],
    )


async def test_check_prints_what_passed_and_each_problem_and_exits_2(
    slack: FakeSlack, check_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, problems = await cli_in_thread(capsys, "check")
    assert code == 0, problems
    assert out[-1] == "tossup: check passed"
    assert f"tossup: channels.fs: posts go to #fs-team ({FS}); the bot is a member and can post there" in out
    slack.error_next("auth.test", "invalid_auth")
    code, out, problems = await cli_in_thread(capsys, "check")
    assert code == 2
    assert problems == [
        "tossup: SLACK_BOT_TOKEN: Slack refused it (invalid_auth)",
        "tossup: check failed: 1 problem above",
    ]
    assert "tossup: environment: OK (HTTP on 0.0.0.0:3000)" in out


async def test_check_piped_to_one_file_reads_in_order(
    slack: FakeSlack, check_env: dict[str, str], tmp_path: Path
) -> None:
    """`tossup check > report.txt 2>&1`: what passed, then the problems, then the verdict (stdout is
    buffered when piped: the verdict on stderr came first)."""
    slack.error_next("auth.test", "invalid_auth")
    buffered = {**check_env, "PYTHONUNBUFFERED": ""}  # as an operator's shell has it (empty: unset)
    result = await _run_cli_async("check", env=buffered, cwd=tmp_path, merged=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("tossup: ")]
    assert result.returncode == 2
    assert "tossup: environment: OK (HTTP on 0.0.0.0:3000)" in lines[:-2]
    assert lines[-2:] == [
        "tossup: SLACK_BOT_TOKEN: Slack refused it (invalid_auth)",
        "tossup: check failed: 1 problem above",
    ]


def test_the_required_scopes_are_the_manifests(tmp_path: Path) -> None:
    for manifest in ("http.yaml", "socket-mode.yaml"):
        data = yaml.safe_load((ROOT / "manifests" / manifest).read_text(encoding="utf-8"))
        assert tuple(data["oauth_config"]["scopes"]["bot"]) == REQUIRED_SCOPES == DEFAULT_SCOPES


def test_the_settings_repr_keeps_secrets_and_the_database_password_out() -> None:
    """Settings show up in tracebacks and test reports (a fixture's repr): no token, secret or password."""
    settings = Settings(
        slack_bot_token="xoxb-very-secret-token",
        slack_signing_secret="signingsecret0123",
        slack_app_token="xapp-also-secret",
        database_url="postgresql+asyncpg://tossup:hunter2@db.internal:5432/tossup",
    )
    shown = repr(settings)
    for secret in ("very-secret-token", "signingsecret0123", "also-secret", "hunter2"):
        assert secret not in shown
    assert "postgresql+asyncpg://tossup:***@db.internal:5432/tossup" in shown
    assert settings.slack_bot_token == "xoxb-very-secret-token"  # hidden from the repr only
    odd_port = StoreSettings(database_url="postgresql+asyncpg://tossup:hunter2@db:port/tossup")
    assert "hunter2" not in repr(odd_port)  # not a URL SQLAlchemy can read: not shown at all
    with pytest.raises(ValidationError) as refused:
        Settings(slack_bot_token="xoxp-a-user-token-by-mistake")
    assert "a-user-token-by-mistake" not in str(refused.value)  # the error does not repeat the secret
