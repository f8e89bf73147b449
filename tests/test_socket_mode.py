"""Socket Mode end to end: the bot dials the fake's websocket, acks a slash command, opens the modal."""

from __future__ import annotations

import asyncio
import contextlib

from bot.app import build_bot
from bot.commands import serve
from bot.settings import Settings
from modals.ids import CallbackId
from tests.conftest import IS_USER, Clock, free_port, team_config
from tests.fake_slack import FakeSlack


async def test_slash_command_over_socket_mode_opens_the_memo_modal(slack: FakeSlack, tmp_path) -> None:
    settings = Settings(
        slack_bot_token="xoxb-test",
        slack_app_token="xapp-1-test",
        slack_api_url=slack.base_url,
        slack_response_url_origins=slack.origin,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'socket.db'}",
        port=free_port(),
        host="127.0.0.1",
    )
    bot = await build_bot(settings, team_config(), clock=Clock())
    stop = asyncio.Event()
    server = asyncio.create_task(serve(bot, stop=stop))
    try:
        await slack.wait_socket_connected()
        envelope_id = await slack.socket_send(
            "slash_commands",
            {
                "command": "/tossup",
                "text": "Globex",
                "user_id": IS_USER,
                "channel_id": "C0GENERAL",
                "team_id": "T0TEAM",
                "trigger_id": "trigger-socket-1",
                "response_url": f"{slack.response_url_base}socket-1",
            },
        )
        ack = await slack.socket_ack(envelope_id)
        assert ack["envelope_id"] == envelope_id
        (opened,) = await slack.wait_for("views.open")
        assert opened.args["trigger_id"] == "trigger-socket-1"
        view = opened.args["view"]
        assert view["callback_id"] == CallbackId.HANDOFF_MEMO
        company = next(b for b in view["blocks"] if b.get("block_id") == "company")
        assert company["element"]["initial_value"] == "Globex"
        assert slack.calls_to("apps.connections.open")
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(server, 10)
        await bot.close()
