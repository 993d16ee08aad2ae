"""The chat examples: demo auth (401 without a token), rooms as topics, fan-out within a room only."""

import asyncio

import pytest
from websockets.exceptions import InvalidStatus

from test_backend_support import SDKS, open_client, run, start_backend_gateway, wait_for_links, workers  # noqa: F401


@pytest.fixture(params=SDKS)
def chat(request, gateway, workers):
    server, path = start_backend_gateway(gateway)
    workers(request.param, "chat", path)
    wait_for_links(server, 1)
    return server


def test_no_token_is_refused_with_401(chat):
    async def scenario():
        with pytest.raises(InvalidStatus) as refused:
            await open_client(chat.port, "/chat?room=blue&nick=eve")
        assert refused.value.response.status_code == 401
        assert b"token" in refused.value.response.body

    run(scenario())
    stats = chat.stop(until=lambda s: s["backend_upgrades_rejected"] >= 1)
    assert stats["backend_upgrades_rejected"] == 1


def test_room_fan_out_reaches_the_room_only(chat):
    async def scenario():
        ann = await open_client(chat.port, "/chat?room=blue&nick=ann&token=t1")
        bob = await open_client(chat.port, "/chat/blue?nick=bob", additional_headers={"Authorization": "Bearer t2"})
        cat = await open_client(chat.port, "/chat?room=red&nick=cat&token=t3")
        # No pause: each SUBSCRIBE is ahead of the PUBLISH on the one link, so it counts.
        await ann.send("hello blue")
        assert await asyncio.wait_for(ann.recv(), 5) == "ann: hello blue"
        assert await asyncio.wait_for(bob.recv(), 5) == "ann: hello blue"
        await bob.send("hi ann")
        assert await asyncio.wait_for(ann.recv(), 5) == "bob: hi ann"
        assert await asyncio.wait_for(bob.recv(), 5) == "bob: hi ann"
        # cat is in another room: the first thing it hears is its own message.
        await cat.send("anyone in red?")
        assert await asyncio.wait_for(cat.recv(), 5) == "cat: anyone in red?"
        for ws in (ann, bob, cat):
            await ws.close()

    run(scenario())
