"""Issue 9 §4, fuzzed: every listener's payload, mutated, signed and sent over HTTP to the real bot.

The listeners: `/tossup` (form-encoded as Slack sends it, and as JSON, where fields may have any type),
every button the app listens for, every modal submission, and `app_home_opened`. Each example takes one
of them in a valid shape (acting on seeded toss-ups and a seeded collaboration issue, by someone allowed
to act) and applies one to three mutations: a key dropped, a value replaced by another type, a huge,
negative or overflowing number, Unicode digits, or `<!channel>`, `<@U…>`, `<http://…|…>` put into a text
or an id, and `private_metadata` tampered with or not JSON at all.

For every example:
- the HTTP status is below 500 and comes within Slack's 3 seconds;
- nothing is logged at ERROR, and no record carries a traceback;
- a payload broken where its listener needs it (who acts, what it acts on, the form and its metadata)
  stores nothing, nor does a submission answered with field errors; and whatever is stored names only the
  test's own users, and a revision only links to a returned toss-up of the same IS rep;
- nothing Slack was asked to show (messages, ephemerals, updates, views, the ack itself) holds a ping,
  a mention of anyone but the test's users, or a link that is not the bot's own permalink.

`tests/test_fuzz_long.py` runs the same kind of traffic against `python -m bot run` for minutes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, literal, select, union_all

from bot.domain.handoff import HandoffStatus
from bot.domain.memo import MemoField, is_slack_user_id
from bot.i18n import Lang, t
from handlers.common import (
    action_handoff_id,
    action_value,
    actor_id,
    locale_hint,
    source_channel,
    source_message_ts,
    submission_key,
    team_id,
    trigger_id,
    view_values,
)
from handlers.payload import payload_problem
from modals.diagnose import DiagnosisModalMeta
from modals.ids import ActionId, BlockId, CallbackId
from modals.issues import IssueCloseMeta, IssueModalMeta
from modals.metadata import HandoffActionMeta, MemoModalMeta, dump_meta, parse_id
from store.diagnosis_models import DiagnosisRow
from store.issue_models import CollabIssueRecord
from store.models import Base, FeedbackRecord, Handoff, HandoffEvent, IsRatingRecord, OutcomeRecord
from store.routing_models import FsAbsence
from tests.conftest import FS_CHANNEL, FS_USER, IS_USER, MANAGER, OTHER_USER, Harness, team_config
from tests.db_fixtures import BACKENDS
from tests.memo_state import full_memo_answers, memo_state
from tests.slack_driver import Response, SlackDriver, checkboxes_state, static_state, text_state
from tests.test_feedback_flow import rating_values, sheet_values
from tests.test_feedback_modals import outcome_state
from tests.test_issues_flow import decision_values, issue_values
from tests.test_tossup_flow import mrkdwn_texts

KNOWN_USERS = frozenset({IS_USER, FS_USER, OTHER_USER, MANAGER})
AGENDA_CHANNEL = "C0AGENDA"
NOTICE_TS = "1700000000.000100"
SLACK_DEADLINE = 3.0  # seconds: Slack shows the person an error after that
# ~150 examples take about 8 s; TOSSUP_FUZZ_EXAMPLES=3000 for a deeper run by hand.
EXAMPLES = int(os.environ.get("TOSSUP_FUZZ_EXAMPLES", "150"))

# Put into texts and ids: each would ping, mention or link if it reached mrkdwn unescaped.
MARKUP = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0EVIL1>",
    "<@U0EVIL1|boss>",
    "<http://evil.example|click>",
    "<mailto:x@evil.example|mail>",
    "<#C0EVIL|general>",
    "U1><!channel",
)
# Whole values: besides markup, numbers no id may be, and text that only looks like digits.
HOSTILE = (
    *MARKUP,
    "²",
    "١٢",
    "2147483648",
    "9" * 25,
    "-1",
    "0",
    " 1",
    "+1",
    "1_0",
    "\u202e",
    "\x00",
    "💥" * 3,
    "x" * 4000,
)
_SLACK_SHAPED = re.compile(r"[UWVTCGD][A-Z0-9]+|[0-9]+")


def _not_valid_by_chance(value: object) -> bool:
    """Junk must stay junk: never an id of ours or an id-shaped string that could make a broken payload
    valid again (a random "7", "U0FS", "VABC")."""
    return not (isinstance(value, str) and (value in KNOWN_USERS or _SLACK_SHAPED.fullmatch(value)))


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**63, 2**64, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(HOSTILE),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["id", "type", "value", "x"]), st.integers() | st.text(max_size=5)),
).filter(_not_valid_by_chance)
FORM_JUNK = st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE)).filter(_not_valid_by_chance)
# What a tampered private_metadata field becomes: none of these is a valid value of any field.
META_JUNK_VALUES: tuple[Any, ...] = (None, -1, 0, 2**31, 2**63, 10**30, "1", 1.5, True, [], {}, "xx", *MARKUP)
META_JUNK = st.sampled_from(META_JUNK_VALUES)


@pytest.fixture
def config():
    return team_config(
        roles={"inside_sales": [IS_USER], "field_sales": [FS_USER], "managers": [MANAGER]},
        sla={"enabled": False},
    )


# ---------------------------------------------------------------- the world the payloads act on


@dataclass
class World:
    """Seeded once per test: a pending toss-up (re-seeded when a fuzzed request decided it), an accepted
    one, a returned one, and an open collaboration issue (re-seeded once closed)."""

    pending: int
    accepted: int
    returned: int
    issue: int


async def _scalar(h: Harness, statement: Any) -> Any:
    async with h.bot.services.sessions() as session:
        return await session.scalar(statement)


async def _toss_up(h: Harness) -> int:
    meeting = h.clock().replace(microsecond=0) + timedelta(days=3)
    answers = full_memo_answers(
        meeting_at=meeting, first_contact_on=(h.clock() - timedelta(days=20)).date(), fs_user_id=FS_USER
    )
    # one company each: the same one again would be held back by the duplicate warning
    answers[MemoField.COMPANY] = f"Seed {await _scalar(h, select(func.count()).select_from(Handoff))}"
    meta = dump_meta(MemoModalMeta(channel_id="C0GENERAL", lang="ja"))
    response = await h.driver.view_submission(
        CallbackId.HANDOFF_MEMO, memo_state(answers), user_id=IS_USER, private_metadata=meta
    )
    assert response.status == 200 and not response.text, response.text
    return int(await _scalar(h, select(func.max(Handoff.id))))


async def _decided(h: Harness, handoff_id: int, status: HandoffStatus) -> None:
    deadline = time.monotonic() + 5
    while await _scalar(h, select(Handoff.status).where(Handoff.id == handoff_id)) is not status:
        assert time.monotonic() < deadline, f"toss-up {handoff_id} did not become {status}"
        await asyncio.sleep(0.02)


async def _new_issue(h: Harness) -> int:
    meta = dump_meta(IssueModalMeta(lang="ja"))
    response = await h.driver.view_submission(
        CallbackId.COLLAB_ISSUE, issue_values(), user_id=IS_USER, private_metadata=meta
    )
    assert response.status == 200 and not response.text, response.text
    return int(await _scalar(h, select(func.max(CollabIssueRecord.id))))


async def world_of(h: Harness) -> World:
    """The seeded world of this harness, topped up: the examples of one test share the harness."""
    world: World | None = getattr(h, "fuzz_world", None)
    if world is None:
        accepted, returned, pending = await _toss_up(h), await _toss_up(h), await _toss_up(h)
        await h.driver.block_action(
            ActionId.HANDOFF_ACCEPT, value=str(accepted), user_id=FS_USER, channel_id=FS_CHANNEL
        )
        await _decided(h, accepted, HandoffStatus.ACCEPTED)
        meta = dump_meta(HandoffActionMeta(handoff_id=returned, lang="ja"))
        await h.driver.view_submission(
            CallbackId.RETURN_REASON, return_values(), user_id=FS_USER, private_metadata=meta
        )
        await _decided(h, returned, HandoffStatus.RETURNED)
        world = World(pending=pending, accepted=accepted, returned=returned, issue=await _new_issue(h))
        h.fuzz_world = world  # type: ignore[attr-defined]
    if (
        await _scalar(h, select(Handoff.status).where(Handoff.id == world.pending))
        is not HandoffStatus.PENDING
    ):
        world.pending = await _toss_up(h)
    if await _scalar(h, select(CollabIssueRecord.closed_at).where(CollabIssueRecord.id == world.issue)):
        world.issue = await _new_issue(h)
    await settle(h)
    return world


def return_values() -> dict[str, Any]:
    return {
        BlockId.RETURN_REASON: {ActionId.RETURN_REASON: static_state("info_missing")},
        BlockId.RETURN_NOTE: {ActionId.RETURN_NOTE: text_state("決裁者を確認してください")},
    }


# ---------------------------------------------------------------- the listeners and their valid payloads

Path = tuple[str | int, ...]
Build = Callable[[World, SlackDriver, Harness], Any]


@dataclass(frozen=True)
class Target:
    name: str
    kind: str  # "payload" (interactivity form field), "form" (slash command), "json" (event, JSON command)
    build: Build
    # Where a mutation breaks the payload for its listener (who acts, on what, the form, its metadata):
    # an example with one there must store nothing.
    required: tuple[Path, ...]


INTERACTIVE: tuple[Path, ...] = (("type",), ("user", "id"))
ACTION: tuple[Path, ...] = (*INTERACTIVE, ("actions", 0, "action_id"), ("actions", 0, "value"))
VIEW: tuple[Path, ...] = (
    *INTERACTIVE,
    ("view", "id"),
    ("view", "type"),
    ("view", "callback_id"),
    ("view", "state", "values"),
)
WITH_META: tuple[Path, ...] = (*VIEW, ("view", "private_metadata"))


def click(
    action: ActionId, actor: str, target_id: Callable[[World], int], channel: str = FS_CHANNEL
) -> Build:
    def build(world: World, driver: SlackDriver, h: Harness) -> Any:
        return driver.block_action_payload(
            action,
            value=str(target_id(world)),
            block_id=BlockId.NOTICE_ACTIONS,
            user_id=actor,
            channel_id=channel,
            message_ts=NOTICE_TS,
        )

    return build


def submit(
    callback: CallbackId, actor: str, values: Callable[[Harness], dict], meta: Callable[[World], str]
) -> Build:
    def build(world: World, driver: SlackDriver, h: Harness) -> Any:
        return driver.view_submission_payload(
            callback, values(h), user_id=actor, private_metadata=meta(world)
        )

    return build


def action_meta(target_id: Callable[[World], int]) -> Callable[[World], str]:
    return lambda world: dump_meta(
        HandoffActionMeta(handoff_id=target_id(world), channel_id=FS_CHANNEL, message_ts=NOTICE_TS, lang="ja")
    )


def memo_values(h: Harness) -> dict:
    meeting = h.clock().replace(microsecond=0) + timedelta(days=3)
    return memo_state(
        full_memo_answers(
            meeting_at=meeting, first_contact_on=(h.clock() - timedelta(days=20)).date(), fs_user_id=FS_USER
        )
    )


def slash(text: str) -> Build:
    return lambda world, driver, h: driver.slash_fields(text, user_id=IS_USER)


def home(actor: str) -> Build:
    return lambda world, driver, h: driver.event_envelope(
        {"type": "app_home_opened", "user": actor, "channel": f"D{actor}", "tab": "home", "event_ts": "1.2"}
    )


def pending(world: World) -> int:
    return world.pending


def accepted(world: World) -> int:
    return world.accepted


def returned(world: World) -> int:
    return world.returned


def issue(world: World) -> int:
    return world.issue


SLASH_TEXTS = (
    "",
    "help",
    "criteria",
    "kpi",
    "kpi last",
    "away",
    "away 2099-01-01",
    "issue 連携",
    "diagnose",
    "Acme Corp",
)

TARGETS: tuple[Target, ...] = (
    Target("accept", "payload", click(ActionId.HANDOFF_ACCEPT, FS_USER, pending), ACTION),
    Target("return", "payload", click(ActionId.HANDOFF_RETURN, FS_USER, pending), ACTION),
    Target("ask", "payload", click(ActionId.HANDOFF_ASK, OTHER_USER, pending), ACTION),
    Target("view memo", "payload", click(ActionId.HANDOFF_VIEW, OTHER_USER, pending), ACTION),
    Target("revise", "payload", click(ActionId.HANDOFF_REVISE, IS_USER, returned, f"D{IS_USER}"), ACTION),
    Target("rate", "payload", click(ActionId.FEEDBACK_OPEN, FS_USER, accepted, f"D{FS_USER}"), ACTION),
    Target("rate FS", "payload", click(ActionId.IS_RATING_OPEN, IS_USER, accepted, f"D{IS_USER}"), ACTION),
    Target("outcome", "payload", click(ActionId.OUTCOME_OPEN, FS_USER, accepted, f"D{FS_USER}"), ACTION),
    Target("close issue", "payload", click(ActionId.ISSUE_CLOSE, IS_USER, issue, AGENDA_CHANNEL), ACTION),
    Target(
        "memo",
        "payload",
        submit(
            CallbackId.HANDOFF_MEMO,
            IS_USER,
            memo_values,
            lambda world: dump_meta(MemoModalMeta(channel_id="C0GENERAL", lang="ja")),
        ),
        VIEW,  # its metadata is only where /tossup was typed: a tampered one is read as none
    ),
    Target(
        "return form",
        "payload",
        submit(CallbackId.RETURN_REASON, FS_USER, lambda h: return_values(), action_meta(pending)),
        WITH_META,
    ),
    Target(
        "question form",
        "payload",
        submit(
            CallbackId.QUESTION,
            OTHER_USER,
            lambda h: {BlockId.QUESTION_TEXT: {ActionId.QUESTION_TEXT: text_state("決裁はいつですか？")}},
            action_meta(pending),
        ),
        WITH_META,
    ),
    Target(
        "feedback sheet",
        "payload",
        submit(CallbackId.FEEDBACK_SHEET, FS_USER, lambda h: sheet_values(), action_meta(accepted)),
        WITH_META,
    ),
    Target(
        "IS rating",
        "payload",
        submit(
            CallbackId.IS_RATING, IS_USER, lambda h: rating_values("4", "早い対応"), action_meta(accepted)
        ),
        WITH_META,
    ),
    Target(
        "outcome form",
        "payload",
        submit(
            CallbackId.OUTCOME,
            FS_USER,
            lambda h: outcome_state("won", "3,000,000", (h.clock().date()).isoformat()),
            action_meta(accepted),
        ),
        WITH_META,
    ),
    Target(
        "issue form",
        "payload",
        submit(
            CallbackId.COLLAB_ISSUE,
            IS_USER,
            lambda h: issue_values(),
            lambda world: dump_meta(IssueModalMeta(lang="ja")),
        ),
        VIEW,  # its metadata is only where it was typed
    ),
    Target(
        "close form",
        "payload",
        submit(
            CallbackId.COLLAB_ISSUE_CLOSE,
            IS_USER,
            lambda h: decision_values("次回のアジェンダで再確認する"),
            lambda world: dump_meta(IssueCloseMeta(issue_id=world.issue, lang="ja")),
        ),
        WITH_META,
    ),
    Target(
        "diagnosis form",
        "payload",
        submit(
            CallbackId.DIAGNOSIS,
            IS_USER,
            lambda h: {
                BlockId.DIAGNOSIS_ROLES: {ActionId.DIAGNOSIS_ITEMS: checkboxes_state(["criteria_agreed"])}
            },
            lambda world: dump_meta(DiagnosisModalMeta(channel_id="C0GENERAL", lang="ja")),
        ),
        VIEW,  # its metadata is only where it was typed
    ),
    *(
        Target(f"/tossup {text}".strip(), "form", slash(text), (("user_id",), ("command",)))
        for text in SLASH_TEXTS
    ),
    *(
        Target(f"/tossup {text}".strip() + " (JSON)", "json", slash(text), (("user_id",), ("command",)))
        for text in SLASH_TEXTS[:4]
    ),
    Target("home", "json", home(IS_USER), ((),)),  # it never stores anything
    Target("home (manager)", "json", home(MANAGER), ((),)),
)


# ---------------------------------------------------------------- mutations


@dataclass(frozen=True)
class Mutation:
    op: str  # "drop", "set", "inject", "meta"
    path: Path
    value: Any = None

    def __repr__(self) -> str:
        shown = repr(self.value)
        return f"{self.op} {'.'.join(map(str, self.path))} {shown[:60]}"


def paths_of(node: Any, prefix: Path = ()) -> list[Path]:
    """Every key and list index in `node`, depth first (the payload's own structure is what is fuzzed)."""
    found: list[Path] = []
    items: Sequence[tuple[str | int, Any]] = (
        list(node.items())
        if isinstance(node, dict)
        else list(enumerate(node))
        if isinstance(node, list)
        else []
    )
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths_of(child, (*prefix, key)))
    return found


def get_path(node: Any, path: Path) -> Any:
    for key in path:
        node = node[key]
    return node


def apply(payload: Any, mutation: Mutation) -> Any:
    """`payload` with `mutation` applied (a copy; a mutation whose path is gone does nothing)."""
    payload = json.loads(json.dumps(payload))
    if mutation.op == "meta":
        view = payload.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("private_metadata"), str):
            return payload
        try:
            meta = json.loads(view["private_metadata"])
        except ValueError:
            return payload
        key = mutation.path[0]
        if key == "<not json>":
            view["private_metadata"] = str(mutation.value)
            return payload
        if isinstance(meta, dict):
            if mutation.value is _DROP:
                meta.pop(key, None)
            else:
                meta[key] = mutation.value
        view["private_metadata"] = json.dumps(meta)
        return payload
    try:
        parent = get_path(payload, mutation.path[:-1])
        last = mutation.path[-1]
        current = parent[last]
    except (KeyError, IndexError, TypeError):
        return payload
    if mutation.op == "drop":
        del parent[last]
    elif mutation.op == "set":
        parent[last] = mutation.value
    elif mutation.op == "inject" and isinstance(current, str):
        where, text = mutation.value
        parent[last] = {"prefix": text + current, "suffix": current + text, "replace": text}[where]
    return payload


class _Drop:
    def __repr__(self) -> str:
        return "<dropped>"


_DROP = _Drop()
HOT_KEYS = frozenset(
    {
        *("type", "user", "id", "user_id", "trigger_id", "command", "text", "event", "tab"),
        *("container", "channel", "channel_id", "message", "actions", "action_id", "value"),
        *("view", "callback_id", "private_metadata", "state", "values", "selected_option"),
        *("selected_user", "selected_date", "selected_date_time"),
    }
)


def breaks(target: Target, mutation: Mutation) -> bool:
    """Whether `mutation` hits what `target`'s listener needs (then the request must store nothing)."""
    if mutation.op == "meta":  # what the form acts on, and its language; the rest is optional
        needed = mutation.path[0] in ("handoff_id", "issue_id", "lang", "<not json>")
        return needed and ("view", "private_metadata") in target.required
    path = mutation.path  # the needed value itself, or something that holds it
    return any(need[: len(path)] == path for need in target.required)


@st.composite
def mutated(
    draw: st.DrawFn, world: World, driver: SlackDriver, h: Harness
) -> tuple[Target, Any, list[Mutation]]:
    target = draw(st.sampled_from(TARGETS))
    base = target.build(world, driver, h)
    paths = paths_of(base)
    # Half the mutations land where listeners read ids, values and routing (a uniform pick would mostly
    # hit the long tail of Slack's metadata fields, which nothing reads).
    where = st.sampled_from(paths) | st.sampled_from([p for p in paths if p[-1] in HOT_KEYS] or paths)
    junk = FORM_JUNK if target.kind == "form" else JUNK
    one = st.one_of(
        st.builds(Mutation, st.just("drop"), where),
        st.builds(Mutation, st.just("set"), where, junk),
        st.builds(
            Mutation,
            st.just("inject"),
            st.sampled_from([p for p in paths if isinstance(get_path(base, p), str)] or paths),
            st.tuples(st.sampled_from(["prefix", "suffix"]), st.sampled_from(MARKUP))
            | st.tuples(st.just("replace"), st.sampled_from(HOSTILE)),
        ),
    )
    if isinstance(base.get("view"), dict) and base["view"].get("private_metadata"):
        keys = [*json.loads(base["view"]["private_metadata"]), "revises", "extra", "<not json>"]
        tamper = st.builds(
            Mutation, st.just("meta"), st.tuples(st.sampled_from(keys)), META_JUNK | st.just(_DROP)
        )
        if target.name == "memo":  # a forged revision: someone else's, pending, accepted, or the returned one
            ids = [world.pending, world.accepted, world.returned, 2**31, 10**30]
            tamper |= st.builds(Mutation, st.just("meta"), st.just(("revises",)), st.sampled_from(ids))
        one |= tamper
    mutations = draw(st.lists(one, min_size=1, max_size=3))
    payload = base
    for mutation in mutations:
        payload = apply(payload, mutation)
    return target, payload, mutations


# ---------------------------------------------------------------- what is checked


async def row_counts(h: Harness) -> dict[str, int]:
    # A duplicate warning is remembered for the refused form on purpose (submitting it again confirms):
    # it is the one row a refusal writes.
    tables = [table for table in Base.metadata.sorted_tables if table.name != "duplicate_warnings"]
    counts = select(*(select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables))
    async with h.bot.services.sessions() as session:  # one statement (twice per example), not one per table
        row = (await session.execute(counts)).one()
    return {table.name: int(row[i] or 0) for i, table in enumerate(tables)}


async def stored_ids_are_ours(h: Harness) -> None:
    """Whatever is stored names only the test's users, and a revision links to a returned toss-up of the
    same IS rep: no forged id ever reached the database."""
    users = set(KNOWN_USERS) | {None}
    async with h.bot.services.sessions() as session:
        rows = (
            await session.execute(
                select(
                    Handoff.id,
                    Handoff.is_user_id,
                    Handoff.fs_user_id,
                    Handoff.decided_by,
                    Handoff.revision_of_id,
                    Handoff.status,
                )
            )
        ).all()
        by_id = {row.id: row for row in rows}
        for row in rows:
            assert {row.is_user_id, row.fs_user_id, row.decided_by} <= users, row
            if row.revision_of_id is not None:
                revised = by_id[row.revision_of_id]
                assert revised.status is HandoffStatus.RETURNED and revised.is_user_id == row.is_user_id, row
        columns = (
            HandoffEvent.actor_user_id,
            FeedbackRecord.rater_id,
            IsRatingRecord.rater_id,
            OutcomeRecord.recorded_by,
            CollabIssueRecord.raised_by,
            CollabIssueRecord.owner_id,
            CollabIssueRecord.closed_by,
            DiagnosisRow.diagnosed_by,
            FsAbsence.user_id,
        )
        every_user = union_all(  # one statement (run after every example), not one per column
            *(
                select(literal(n).label("n"), column.label("user_id")).distinct()
                for n, column in enumerate(columns)
            )
        )
        for n, user_id in (await session.execute(select(every_user.subquery()))).all():
            assert user_id in users, (columns[n], user_id)


_KNOWN_MENTION = "|".join(f"<@{user}>" for user in sorted(KNOWN_USERS))
ALLOWED_MARKUP = re.compile(
    rf"{_KNOWN_MENTION}|<#C[A-Z0-9]+>|<https://fake\.slack\.test/archives/[^<>|]*\|[^<>]*>"
)


def markup_problems(text: str) -> list[str]:
    """Every `<…>` in mrkdwn that Slack would turn into a ping, a mention or a link, except the bot's own
    (a known user's mention, the FS channel, a permalink to a message in the fake workspace)."""
    problems = []
    for match in re.finditer(r"<[^<>]*>", text):
        if not ALLOWED_MARKUP.fullmatch(match.group(0)):
            problems.append(match.group(0))
    return problems


SHOWN = (
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "views.open",
    "views.update",
    "views.publish",
    "response_url",
)


def shown_texts(h: Harness, since: int, response: Response) -> list[str]:
    texts: list[str] = []
    for call in h.slack.calls[since:]:
        if call.method not in SHOWN:
            continue
        if isinstance(call.args.get("text"), str):
            texts.append(call.args["text"])
        texts.extend(
            mrkdwn_texts([call.args.get("blocks"), call.args.get("view"), call.args.get("attachments")])
        )
    try:
        answered = json.loads(response.text) if response.text.strip() else None
    except ValueError:
        answered = None
    if isinstance(answered, dict) and answered.get("response_action") != "errors":  # errors are plain text
        if isinstance(answered.get("text"), str):
            texts.append(answered["text"])
        texts.extend(mrkdwn_texts([answered.get("blocks"), answered.get("view")]))
    return texts


async def settle(h: Harness) -> None:
    """Let what a listener does after its ack finish (the app holds that work until it ends), then what
    it queued, until a round of both brings nothing new to the fake Slack."""
    deadline = time.monotonic() + 3
    seen = -1
    while len(h.slack.calls) != seen and time.monotonic() < deadline:
        seen = len(h.slack.calls)
        assert await h.bot.app.finish_running(grace=5), "a listener's work after its ack did not end"
        await h.bot.delivery.wait_idle()
        await asyncio.sleep(0.005)


async def send(h: Harness, target: Target, payload: Any) -> Response:
    if target.kind == "payload":
        return await h.driver.send_payload(payload)
    if target.kind == "form":
        return await h.driver.send_form({str(k): str(v) for k, v in payload.items()})
    return await h.driver.send_json(payload)


def refused(response: Response) -> bool:
    if response.status >= 400:
        return True
    try:
        answered = json.loads(response.text) if response.text.strip() else None
    except ValueError:
        return False
    return isinstance(answered, dict) and answered.get("response_action") == "errors"


# Fuzzed text that must never reach a log line (the customer text a payload carries may be anything).
LOG_MARKERS = ("<!", "<@U0EVIL", "evil.example", "x" * 200, "決裁", "Acme")


async def check_one(
    h: Harness, caplog: pytest.LogCaptureFixture, target: Target, payload: Any, mutations: list[Mutation]
) -> Response:
    """Send one request and check everything the module docstring promises; returns the answer."""
    caplog.clear()
    before_rows = await row_counts(h)
    before_calls = len(h.slack.calls)
    started = time.monotonic()
    response = await send(h, target, payload)
    elapsed = time.monotonic() - started
    await settle(h)
    where = f"{target.name}: {mutations} → {response.status} {response.text[:200]!r}"

    assert response.status < 500, where
    assert elapsed < SLACK_DEADLINE, (where, elapsed)
    loud = [
        f"{r.levelname} {r.name}: {r.getMessage()[:200]}"
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()
    ]
    assert not loud, (where, loud)
    leaked = [r.getMessage()[:200] for r in caplog.records if any(m in r.getMessage() for m in LOG_MARKERS)]
    assert not leaked, (where, leaked)
    after_rows = await row_counts(h)
    if any(breaks(target, m) for m in mutations) or refused(response):
        assert after_rows == before_rows, (
            where,
            {k: (before_rows[k], v) for k, v in after_rows.items() if before_rows[k] != v},
        )
    await stored_ids_are_ours(h)
    for text in shown_texts(h, before_calls, response):
        assert not markup_problems(text), (where, markup_problems(text), text[:300])
    return response


# ---------------------------------------------------------------- the tests


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
@pytest.mark.takes(7)
async def test_fuzzed_payloads_get_a_clear_answer_and_change_nothing_they_should_not(
    harness: Harness, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    h = harness
    caplog.set_level(logging.INFO)
    world = await world_of(h)
    target, payload, mutations = data.draw(mutated(world, h.driver, h), label="request")
    response = await check_one(h, caplog, target, payload, mutations)
    event(f"{target.name} → {response.status}{' refused' if refused(response) else ''}")


async def test_every_listener_answers_its_valid_payload_cleanly(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The unmutated payloads pass the same checks: the fuzz starts from shapes the bot accepts."""
    h = harness
    caplog.set_level(logging.INFO)
    for target in TARGETS:
        world = await world_of(h)
        response = await check_one(h, caplog, target, target.build(world, h.driver, h), [])
        assert response.status == 200 and not refused(response), (target.name, response.text)


# ---------------------------------------------------------------- the cases issue 9 names, one by one


def private_answers(h: Harness, since: int) -> list[str]:
    """What the person was told privately since call `since` (through the response_url or an ephemeral)."""
    return [
        str(call.args.get("text"))
        for call in h.slack.calls[since:]
        if call.method in ("response_url", "chat.postEphemeral")
    ]


async def answered_privately(h: Harness, since: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until the person was told something privately since call `since` (a slow machine takes longer
    than `settle`'s quiet moment to get there)."""
    deadline = time.monotonic() + timeout
    while not private_answers(h, since):
        assert time.monotonic() < deadline, f"nobody was told anything; received:\n{h.slack.describe_calls()}"
        await asyncio.sleep(0.02)


def said(key: str) -> set[str]:
    return {t(lang, key) for lang in Lang}


def field_errors(response: Response) -> dict[str, str]:
    body = response.json() or {}
    assert body.get("response_action") == "errors", response.text
    return dict(body["errors"])


Expect = Callable[[Harness, Response, int], None]


def is_400(h: Harness, response: Response, since: int) -> None:
    assert response.status == 400, response.text


def told(key: str) -> Expect:
    def check(h: Harness, response: Response, since: int) -> None:
        assert response.status == 200
        assert set(private_answers(h, since)) & said(key), (key, private_answers(h, since))

    return check


def error_on(block: str, key: str) -> Expect:
    def check(h: Harness, response: Response, since: int) -> None:
        assert response.status == 200
        assert field_errors(response).get(block) in said(key), (block, key, response.text)

    return check


def acked_with(key: str) -> Expect:
    def check(h: Harness, response: Response, since: int) -> None:
        assert response.status == 200
        assert (response.json() or {}).get("text") in said(key), response.text

    return check


def told_something(h: Harness, response: Response, since: int) -> None:
    assert response.status == 200
    assert private_answers(h, since), h.slack.describe_calls()


def opened_the_memo(h: Harness, response: Response, since: int) -> None:
    assert response.status == 200
    (opened,) = [c for c in h.slack.calls[since:] if c.method == "views.open"]
    assert opened.args["view"]["callback_id"] == CallbackId.HANDOFF_MEMO


def nothing_published(h: Harness, response: Response, since: int) -> None:
    assert response.status == 200
    assert [c.method for c in h.slack.calls[since:] if c.method.startswith(("views.", "chat."))] == []


def quietly_acked(h: Harness, response: Response, since: int) -> None:
    assert response.status == 200 and not response.text
    assert [c.method for c in h.slack.calls[since:] if c.method != "users.info"] == []


def target(name: str) -> Target:
    return next(t for t in TARGETS if t.name == name)


def drop(*path: str | int) -> Mutation:
    return Mutation("drop", path)


def put(value: Any, *path: str | int) -> Mutation:
    return Mutation("set", path, value)


def meta(key: str, value: Any) -> Mutation:
    return Mutation("meta", (key,), value)


VALUE = ("actions", 0, "value")
MEMO_FS = ("view", "state", "values", "fs_user_id", "memo_fs_user_id", "selected_user")
OWNER = ("view", "state", "values", "issue_owner", "issue_owner", "selected_user")
STARS = "selected_option", "value"

# (what is wrong, the listener, the mutations, the clear answer expected). Each also passes `check_one`.
CASES: list[tuple[str, str, list[Mutation], Expect]] = [
    *(
        (f"button value {value!r}", "accept", [put(value, *VALUE)], told("message.handoff_missing"))
        for value in ("2147483648", "9" * 25, "-1", "0", "²", "١٢", " 1", "+1", "1_0", "")
    ),
    ("button value not a string", "rate", [put(2**70, *VALUE)], told("message.form.missing")),
    ("button value missing", "revise", [drop(*VALUE)], told("message.handoff_missing")),
    (
        "issue id beyond the range",
        "close issue",
        [put("2147483648", *VALUE)],
        told("issues.refusal.bad_value"),
    ),
    ("actions: []", "accept", [put([], "actions")], is_400),
    ("actions not a list", "accept", [put("x", "actions")], is_400),
    ("actions[0] not an object", "accept", [put([1], "actions")], is_400),
    ("action without action_id", "accept", [drop("actions", 0, "action_id")], is_400),
    ("no type", "accept", [drop("type")], is_400),
    ("type not a string", "memo", [put(["view_submission"], "type")], is_400),
    ("unknown type", "memo", [put("dialog_submission", "type")], is_400),
    ("no view", "return form", [drop("view")], is_400),
    ("view not an object", "memo", [put("x", "view")], is_400),
    ("view without a type", "memo", [drop("view", "type")], is_400),
    ("event: null", "home", [put(None, "event")], is_400),
    ("event not an object", "home", [put("app_home_opened", "event")], is_400),
    ("no user on a button", "accept", [drop("user")], told("handler.incomplete_request")),
    ("user not an object", "accept", [put("U0FS", "user")], told("handler.incomplete_request")),
    ("forged user id", "accept", [put("U1><!channel", "user", "id")], told("handler.incomplete_request")),
    (  # shaped like an id, but longer than the column that would hold it (varchar(64) on PostgreSQL)
        "a 100-character user id",
        "memo",
        [put("U" + "A" * 99, "user", "id")],
        error_on("company", "handler.incomplete_request"),
    ),
    ("no trigger_id", "return", [drop("trigger_id")], told("handler.modal_failed")),
    ("trigger_id not a string", "view memo", [put([1], "trigger_id")], told("handler.modal_failed")),
    (
        "trigger Slack did not issue (Slack refuses it)",
        "rate",
        [put("forged.trigger", "trigger_id")],
        told("handler.modal_failed"),
    ),
    (
        "container, channel, message not objects",
        "accept",
        [put(OTHER_USER, "user", "id"), put("x", "container"), put(["x"], "channel"), put([], "message")],
        told_something,
    ),
    ("no state", "memo", [drop("view", "state")], error_on("company", "error.required")),
    (
        "values not an object",
        "feedback sheet",
        [put("x", "view", "state", "values")],
        error_on("feedback_result", "feedback.error.choose_result"),
    ),
    (
        "no user on a form",
        "question form",
        [drop("user")],
        error_on("question_text", "handler.incomplete_request"),
    ),
    (
        "no view id",
        "issue form",
        [drop("view", "id")],
        error_on("issue_problem", "handler.incomplete_request"),
    ),
    (
        "private_metadata not JSON",
        "return form",
        [meta("<not json>", "{nope")],
        error_on("return_reason", "handler.form_unreadable"),
    ),
    (
        "private_metadata not a string",
        "outcome form",
        [put({"handoff_id": 1}, "view", "private_metadata")],
        error_on("outcome_kind", "handler.form_unreadable"),
    ),
    (
        "handoff_id beyond the range",
        "question form",
        [meta("handoff_id", 2**31)],
        error_on("question_text", "handler.form_unreadable"),
    ),
    (
        "handoff_id of 30 digits",
        "IS rating",
        [meta("handoff_id", 10**30)],
        error_on("is_rating_follow_through", "handler.form_unreadable"),
    ),
    (
        "handoff_id as a string",
        "feedback sheet",
        [meta("handoff_id", "1")],
        error_on("feedback_result", "handler.form_unreadable"),
    ),
    (
        "issue_id beyond the range",
        "close form",
        [meta("issue_id", 2**31)],
        error_on("issue_decision", "issues.error.form_unreadable"),
    ),
    (
        "memo private_metadata tampered",
        "memo",
        [meta("lang", "xx")],
        error_on("company", "handler.form_unreadable"),
    ),
    (
        "revises beyond the range",
        "memo",
        [meta("revises", 2**31)],
        error_on("company", "handler.form_unreadable"),
    ),
    (
        "star rating '²'",
        "IS rating",
        [put("²", "view", "state", "values", "is_rating_follow_through", "is_rating_follow_through", *STARS)],
        error_on("is_rating_follow_through", "feedback.error.choose_stars"),
    ),
    (
        "star rating '6'",
        "feedback sheet",
        [put("6", "view", "state", "values", "feedback_overall", "feedback_overall", *STARS)],
        error_on("feedback_overall", "feedback.error.choose_stars"),
    ),
    (
        "star rating '٣'",
        "feedback sheet",
        [put("٣", "view", "state", "values", "feedback_overall", "feedback_overall", *STARS)],
        error_on("feedback_overall", "feedback.error.choose_stars"),
    ),
    (
        "FS rep 'U1><!channel'",
        "memo",
        [put("U1><!channel", *MEMO_FS)],
        error_on("fs_user_id", "error.not_a_slack_user"),
    ),
    (
        "FS rep '<@U0FS>'",
        "memo",
        [put("<@U0FS>", *MEMO_FS)],
        error_on("fs_user_id", "error.not_a_slack_user"),
    ),
    (
        "issue owner 'U1><!channel'",
        "issue form",
        [put("U1><!channel", *OWNER)],
        error_on("issue_owner", "issues.error.owner_not_a_user"),
    ),
    ("app_home_opened without a user", "home", [drop("event", "user")], nothing_published),
    (
        "app_home_opened with a user object",
        "home",
        [put({"id": IS_USER}, "event", "user")],
        nothing_published,
    ),
    ("app_home_opened with a forged user", "home", [put("U1><!channel", "event", "user")], nothing_published),
    ("slash command without user_id", "/tossup", [drop("user_id")], acked_with("handler.incomplete_request")),
    (
        "slash command without trigger_id",
        "/tossup",
        [drop("trigger_id")],
        acked_with("handler.incomplete_request"),
    ),
    (
        "slash command 'away' by a forged user",
        "/tossup away 2099-01-01",
        [put("U1><!channel", "user_id")],
        acked_with("handler.incomplete_request"),
    ),
    ("slash command text not a string", "/tossup (JSON)", [put(["kpi"], "text")], opened_the_memo),
    ("unknown button", "accept", [put("some_old_button", "actions", 0, "action_id")], quietly_acked),
    ("unknown form", "memo", [put("some_old_form", "view", "callback_id")], quietly_acked),
]


@pytest.mark.parametrize("backend", BACKENDS)  # ids past int4 are a DataError on PostgreSQL, not on SQLite
async def test_each_malformed_case_gets_its_clear_answer(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Every case issue 9 names (and a few more found on the way): the answer a person would see, plus
    everything `check_one` checks (no 5xx, no traceback, nothing stored, nothing pinged)."""
    h = harness
    caplog.set_level(logging.INFO)
    for what, name, mutations, expect in CASES:
        if "Slack refuses it" in what:  # the fake takes any trigger once; Slack knows which it issued
            h.slack.error_next("views.open", "invalid_trigger_id")
        world = await world_of(h)
        case = target(name)
        payload = case.build(world, h.driver, h)
        for mutation in mutations:
            payload = apply(payload, mutation)
        since = len(h.slack.calls)
        response = await check_one(h, caplog, case, payload, mutations)
        try:
            expect(h, response, since)
        except AssertionError as failure:
            raise AssertionError(f"{what}: {failure}") from failure


async def test_a_forged_revision_is_refused_and_only_a_returned_toss_up_of_ones_own_is_revised(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """`revises` travels in private_metadata: the server checks it links to a toss-up FS returned, that
    the same IS rep tossed up. Anything else is refused on the form (not silently dropped, so the rep is
    not misled into thinking the returned one was revised)."""
    h = harness
    caplog.set_level(logging.INFO)
    world = await world_of(h)
    memo = target("memo")
    refusals = [
        ("a pending toss-up", IS_USER, world.pending),
        ("an accepted toss-up", IS_USER, world.accepted),
        ("a toss-up that does not exist", IS_USER, 999_999),
        ("another rep's returned toss-up", MANAGER, world.returned),  # managers may toss up too
    ]
    for what, user, revises in refusals:
        mutations = [meta("revises", revises), put(user, "user", "id")]
        payload = memo.build(world, h.driver, h)
        for mutation in mutations:
            payload = apply(payload, mutation)
        response = await check_one(h, caplog, memo, payload, mutations)
        assert field_errors(response) == {"company": t(Lang.JA, "message.form.bad_revision")}, what
    handoffs = await _scalar(h, select(func.count()).select_from(Handoff))

    mutations = [meta("revises", world.returned)]
    payload = apply(memo.build(world, h.driver, h), mutations[0])
    response = await check_one(h, caplog, memo, payload, mutations)
    assert response.status == 200 and not response.text
    revision = await _scalar(h, select(Handoff).order_by(Handoff.id.desc()).limit(1))
    assert await _scalar(h, select(func.count()).select_from(Handoff)) == handoffs + 1
    assert revision.revision_of_id == world.returned and revision.is_user_id == IS_USER


# ---------------------------------------------------------------- the error handler, and the helpers it uses

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
BODY_KEYS = (
    "user",
    "user_id",
    "container",
    "channel",
    "channel_id",
    "message",
    "actions",
    "trigger_id",
    "team",
)


@given(
    body=st.dictionaries(st.sampled_from(BODY_KEYS), JSON | st.sampled_from(HOSTILE), max_size=6),
    view=st.dictionaries(st.sampled_from(["id", "state", "team_id", "private_metadata"]), JSON, max_size=4),
)
def test_the_payload_readers_never_raise_and_return_only_slack_shaped_ids(body: dict, view: dict) -> None:
    """What the listeners and the error handler read a payload with: any JSON in, a Slack-shaped id or
    None out (the error handler once crashed on a `user` or `container` that was not an object)."""
    actor = actor_id(body)
    assert actor == "" or is_slack_user_id(actor)
    channel = source_channel(body)
    assert channel is None or re.fullmatch(r"[CGD][A-Z0-9]{2,}", channel)
    ts = source_message_ts(body)
    assert ts is None or re.fullmatch(r"[0-9]+\.[0-9]+", ts)
    value = action_value(body)
    assert value is None or isinstance(value, str)
    handoff_id = action_handoff_id(body)
    assert handoff_id is None or 1 <= handoff_id <= 2**31 - 1
    assert trigger_id(body) is None or isinstance(trigger_id(body), str)
    assert locale_hint(body) is None or isinstance(locale_hint(body), str)
    assert submission_key(view) is None or re.fullmatch(r"V[A-Z0-9]+", submission_key(view) or "")
    assert isinstance(view_values(view), Mapping)
    assert isinstance(team_id(body, view), str)
    assert payload_problem({"type": "block_actions", **body}) is None or True  # never raises


@given(raw=JSON | st.sampled_from(["1", "2147483647", "2147483648", "²", "١٢", " 7", "+7", "1_0", "0"]))
def test_ids_from_the_client_are_ascii_digits_within_the_columns_range(raw: object) -> None:
    parsed = parse_id(raw)
    assert parsed is None or 1 <= parsed <= 2**31 - 1
    if isinstance(raw, str) and parsed is not None:
        assert raw.isascii() and raw.isdigit() and str(parsed) == raw.lstrip("0")


async def test_the_error_handler_answers_a_failure_whatever_the_payloads_shape(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener that really fails (here: its database is gone) reaches the error handler, which must
    still tell the clicker, calmly, without tripping over a `container`, `channel` or `message` that is
    not an object, nor over a `user` that is not one (then there is nobody to tell)."""
    h = harness
    await world_of(h)
    path = h.bot.settings.database_url.split("///", 1)[1]
    await h.bot.engine.dispose()
    os.replace(path, path + ".gone")  # the next session opens an empty file: "no such table"
    try:
        caplog.set_level(logging.INFO)
        clicked = h.driver.block_action_payload(
            ActionId.HANDOFF_ACCEPT, value="1", user_id=FS_USER, channel_id=FS_CHANNEL
        )
        odd = {**clicked, "container": "x", "channel": ["C0FSCHAN"], "message": 7}
        since = len(h.slack.calls)
        response = await h.driver.send_payload(odd)
        assert response.status == 200
        await answered_privately(h, since)  # the error handler's answer follows the failure: wait for it
        await settle(h)
        (told_,) = private_answers(h, since)
        assert told_ in said("message.internal_error")
        failures = [r for r in caplog.records if r.name == "handlers.errors" and r.exc_info]
        assert len(failures) == 1  # a real failure keeps its traceback: it is a bug or an outage

        caplog.clear()
        since = len(h.slack.calls)
        response = await h.driver.send_payload({**odd, "user": "U0FS"})
        assert response.status == 200
        await settle(h)
        assert private_answers(h, since) in ([], [t(Lang.JA, "handler.incomplete_request")])
        assert not [r for r in caplog.records if "Task exception" in r.getMessage()]
    finally:
        await h.bot.engine.dispose()
        os.replace(path + ".gone", path)


async def test_what_bolt_cannot_even_parse_is_a_400_at_the_door(harness: Harness) -> None:
    """Bodies Bolt trips on while building its context, before any of the app's code runs: the HTTP door
    (bot/app.py) refuses them. Kept here as the fuzz found them."""
    h = harness
    envelope = h.driver.event_envelope({"type": "app_home_opened", "user": IS_USER, "tab": "home"})
    statuses = [
        (await h.driver.send_json({**envelope, "authorizations": {"id": 0}})).status,
        (await h.driver.send_json({**envelope, "response_urls": {"a": 1}})).status,
        (await h.driver.send_raw(b"[" * 100_000 + b"]" * 100_000, content_type="application/json")).status,
    ]
    assert statuses == [400, 400, 400]
