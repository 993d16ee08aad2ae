"""Echo through each SDK: WebSocket client <-> ringgate <-> the SDK's echo example."""

import pytest

from test_backend_support import SDKS, open_client, run, start_backend_gateway, wait_for_links, workers  # noqa: F401


@pytest.mark.parametrize("sdk", SDKS)
def test_echo_through_the_sdk(gateway, workers, sdk):
    server, path = start_backend_gateway(gateway)
    workers(sdk, "echo", path)
    wait_for_links(server, 1)

    async def scenario():
        ws = await open_client(server.port)
        for text in ["hello, worker", "ünïcödé ✓ 😀", ""]:
            await ws.send(text)
            assert await ws.recv() == text
        payload = bytes(range(256)) * 300  # 76,800 bytes: more than one read of the link
        await ws.send(payload)
        assert await ws.recv() == payload
        for index in range(200):
            await ws.send(f"burst {index}")
        assert [await ws.recv() for _ in range(200)] == [f"burst {index}" for index in range(200)]
        await ws.close()

    run(scenario())
    stats = server.stop(until=lambda s: s["open"] == 0)
    assert stats["backend_protocol_errors"] == 0
    assert stats["messages_in"] == stats["messages_out"] == 204


@pytest.mark.parametrize("sdk", SDKS)
def test_many_clients_at_once(gateway, workers, sdk):
    server, path = start_backend_gateway(gateway)
    workers(sdk, "echo", path)
    wait_for_links(server, 1)

    async def one(index):
        ws = await open_client(server.port)
        for round_ in range(20):
            await ws.send(f"{index}/{round_}")
            assert await ws.recv() == f"{index}/{round_}"
        await ws.close()

    async def scenario():
        import asyncio
        await asyncio.gather(*(one(index) for index in range(50)))

    run(scenario())
