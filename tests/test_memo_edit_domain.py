"""Who may edit a memo and read its history, what changed (bot/domain/memo_edit.py), and the Block Kit
that shows it (modals/memo_edit.py): user text escaped, Slack's limits kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.handoff import HandoffSnapshot, HandoffStatus
from bot.domain.memo import HandoffMemo, MemoField, Temperature
from bot.domain.memo_edit import EditRefusal, changed_fields, edit_refusal, may_see_history
from bot.i18n import Lang, t
from modals.limits import SECTION_TEXT_MAX
from modals.memo import build_memo_modal, memo_block_id
from modals.memo_edit import build_edit_diff, build_history_modal, duplicate_warning, edit_buttons_block
from modals.metadata import MemoModalMeta
from tests.conftest import team_config

IS, FS, OTHER, BOSS = "U0IS", "U0FS", "U0OTHER", "U0BOSS"
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def handoff(status: HandoffStatus = HandoffStatus.PENDING, **changes: object) -> HandoffSnapshot:
    base: dict[str, object] = {
        "id": 7,
        "team_id": "T1",
        "is_user_id": IS,
        "fs_user_id": FS,
        "channel_id": "C0FS",
        "status": status,
        "memo": HandoffMemo(company="Acme", need="集計の自動化"),
        "created_at": NOW,
    }
    return HandoffSnapshot(**{**base, **changes})  # type: ignore[arg-type]


def test_only_the_is_rep_edits_and_only_while_pending() -> None:
    assert edit_refusal(handoff(), actor_id=IS) is None
    assert edit_refusal(handoff(), actor_id=FS) is EditRefusal.NOT_YOURS
    assert edit_refusal(handoff(HandoffStatus.ACCEPTED), actor_id=IS) is EditRefusal.FROZEN
    assert edit_refusal(handoff(HandoffStatus.RETURNED), actor_id=IS) is EditRefusal.FROZEN
    assert edit_refusal(None, actor_id=IS) is EditRefusal.MISSING


def test_after_acceptance_the_history_is_fs_and_the_managers() -> None:
    accepted = handoff(HandoffStatus.ACCEPTED, decided_by=FS)
    assert not may_see_history(accepted, actor_id=IS, fs_members=[FS], managers=[BOSS])
    assert may_see_history(accepted, actor_id=FS, fs_members=[FS], managers=[BOSS])
    assert may_see_history(accepted, actor_id=BOSS, fs_members=[FS], managers=[BOSS])
    assert not may_see_history(accepted, actor_id=OTHER, fs_members=[FS], managers=[BOSS])
    assert may_see_history(handoff(), actor_id=IS, fs_members=[FS])  # pending: still the IS rep's draft
    assert may_see_history(accepted, actor_id=OTHER)  # no FS configured: anyone but the IS rep


def test_changed_fields_in_template_order_with_custom_selects() -> None:
    before = HandoffMemo(company="Acme", temperature=Temperature.HOT, custom={"segment": "smb"})
    after = HandoffMemo(company="Acme", temperature=Temperature.WARM, need="x", custom={"segment": "ent"})
    assert changed_fields(before, after) == ["need", "temperature", "segment"]
    assert changed_fields(before, before) == []


@settings(deadline=None)  # two 3,000-character texts diffed: over 200 ms on a loaded 2-core machine
@given(st.text(min_size=1, max_size=3000), st.text(min_size=1, max_size=3000))
def test_the_diff_escapes_what_the_rep_typed_and_keeps_slacks_limits(old: str, new: str) -> None:
    before = HandoffMemo(company="Acme", need=old, other_notes=old)
    after = HandoffMemo(company="<!here> & co", need=new, other_notes=new)
    text, blocks = build_edit_diff(
        handoff=handoff(),
        before=before,
        after=after,
        editor_id=IS,
        version=2,
        lang=Lang.EN,
        tz=TOKYO,
        config=None,
    )
    rendered = [b.to_dict() for b in blocks]
    assert "<!here>" not in json.dumps(rendered, ensure_ascii=False) and "<!here>" not in text
    assert all(len(b["text"]["text"]) <= SECTION_TEXT_MAX for b in rendered if b["type"] == "section")
    assert len(blocks) <= 50


def test_the_history_numbers_every_version_and_fits_a_modal() -> None:
    memos = [HandoffMemo(company="Acme", need=f"version {n} " + "長い説明" * 300) for n in range(1, 30)]
    versions = [
        (
            IS,
            NOW + timedelta(hours=n),
            {"before": memos[n - 1].model_dump(mode="json"), "after": memos[n].model_dump(mode="json")},
        )
        for n in range(1, 29)
    ]
    view = build_history_modal(
        handoff=handoff(), versions=versions, lang=Lang.EN, tz=TOKYO, config=None
    ).to_dict()
    shown = json.dumps(view["blocks"], ensure_ascii=False)
    assert len(view["blocks"]) <= 100
    assert "*Version 29*" in shown and "Version 1: tossed up" in shown


def test_the_warning_links_the_open_toss_up_or_names_its_number_and_fs_rep() -> None:
    link = "https://acme.slack.com/archives/C0FS/p1700000000000100"
    assert link in duplicate_warning(duplicate=handoff(), lang=Lang.EN, permalink=link)
    plain = duplicate_warning(duplicate=handoff(), lang=Lang.JA, permalink=None)
    assert "#7" in plain and FS in plain


def test_app_home_offers_edit_only_for_pending_toss_ups() -> None:
    mixed = [handoff(), handoff(HandoffStatus.ACCEPTED, id=8), handoff(id=9)]
    (row,) = edit_buttons_block(mixed, Lang.EN)
    assert [e.value for e in row.elements] == ["7", "9"]
    assert edit_buttons_block([handoff(HandoffStatus.RETURNED)], Lang.EN) == []


def test_the_edit_modal_says_the_fs_rep_is_fixed_where_a_new_memo_offers_to_pick_one() -> None:
    config = team_config()
    prefill = HandoffMemo(company="Acme", fs_user_id="U0FSREP")
    for lang in Lang:
        hints = {}
        for meta in (MemoModalMeta(lang=lang), MemoModalMeta(lang=lang, edits=7)):
            view = build_memo_modal(lang=lang, config=config, meta=meta, prefill=prefill).to_dict()
            (block,) = [b for b in view["blocks"] if b.get("block_id") == memo_block_id(MemoField.FS_USER_ID)]
            assert block["element"]["initial_user"] == "U0FSREP"
            hints[meta.edits] = block["hint"]["text"]
        assert hints == {
            None: t(lang, "memo.field.fs_user_id.hint"),
            7: t(lang, "memo_edit.modal.fs_rep_hint"),
        }
