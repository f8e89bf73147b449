"""The baseline of `bench.load`: a bare slack-bolt AsyncApp making the same Slack calls as tossup, with no
database, served the same way (aiohttp, one process).

`/tossup` acks and opens a modal; a memo submission acks and then posts the FS notice and the IS rep's DM,
as tossup does after its ack.

    python -m bench.bare_app --port 3100 --slack-api-url http://127.0.0.1:PORT/api/
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from modals.ids import CallbackId

FS_CHANNEL = "C0FS"
MODAL = {
    "type": "modal",
    "callback_id": CallbackId.HANDOFF_MEMO.value,
    "title": {"type": "plain_text", "text": "tossup"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [
        {
            "type": "input",
            "block_id": "company",
            "label": {"type": "plain_text", "text": "Company"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


def bare_app(*, token: str, signing_secret: str, slack_api_url: str) -> web.Application:
    bolt = AsyncApp(client=AsyncWebClient(token=token, base_url=slack_api_url), signing_secret=signing_secret)

    @bolt.command("/tossup")
    async def command(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    @bolt.view(CallbackId.HANDOFF_MEMO.value)
    async def submission(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = body["user"]["id"]
        await client.chat_postMessage(channel=FS_CHANNEL, text="A toss-up")
        await client.chat_postMessage(channel=user, text="Your toss-up was sent")

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", health)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slack-api-url", required=True)
    parser.add_argument("--token", default="xoxb-bench")
    parser.add_argument("--signing-secret", required=True)
    args = parser.parse_args()
    app = bare_app(token=args.token, signing_secret=args.signing_secret, slack_api_url=args.slack_api_url)
    asyncio.run(_serve(app, args.port))


async def _serve(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    main()
