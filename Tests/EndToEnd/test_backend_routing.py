"""Two workers: a connection is answered by one worker for its whole life (sticky routing), and
`hash:header:NAME` and `hash:path:N` send equal keys to the same worker. The echo examples started with `--tag`
prefix their text replies with it, which names the worker that answered."""

import asyncio

import pytest

from test_backend_support import open_client, run, start_backend_gateway, wait_for_links, workers  # noqa: F401

ROUNDS = 10


async def answering_worker(ws, label):
    """Sends ROUNDS messages and returns the one tag that answered them all."""
    tags = set()
    for round_ in range(ROUNDS):
        await ws.send(f"{label} {round_}")
        tag, _, text = (await asyncio.wait_for(ws.recv(), 10)).partition(": ")
        assert text == f"{label} {round_}"
        tags.add(tag)
    assert len(tags) == 1, f"{label} was answered by {tags}"
    return tags.pop()


@pytest.mark.parametrize("sdk", ["swift", "python"])
def test_hash_on_a_header_is_sticky_per_key(gateway, workers, sdk):
    server, path = start_backend_gateway(gateway, "--route", "hash:header:x-user", threads=2)
    workers(sdk, "echo", path, "--tag", "A")
    workers(sdk, "echo", path, "--tag", "B")
    wait_for_links(server, 2)

    async def scenario():
        by_user = {}
        for user in [f"user-{index}" for index in range(12)]:
            connections = [await open_client(server.port, additional_headers={"X-User": user}) for _ in range(2)]
            tags = [await answering_worker(ws, f"{user}/{n}") for n, ws in enumerate(connections)]
            assert tags[0] == tags[1], f"{user}'s connections went to {tags}"
            by_user[user] = tags[0]
            for ws in connections:
                await ws.close()
        # 12 keys over 2 workers: both get some (all on one has odds 2 / 4096).
        assert set(by_user.values()) == {"A", "B"}, by_user

    run(scenario())


def test_least_loaded_balances_and_keeps_each_connection(gateway, workers):
    server, path = start_backend_gateway(gateway, "--route", "least-loaded", threads=2)
    workers("swift", "echo", path, "--tag", "A")
    workers("python", "echo", path, "--tag", "B")
    wait_for_links(server, 2)

    async def scenario():
        connections = [await open_client(server.port) for _ in range(10)]
        tags = await asyncio.gather(*(answering_worker(ws, f"c{n}") for n, ws in enumerate(connections)))
        assert sorted(tags).count("A") == 5 and sorted(tags).count("B") == 5, tags
        for ws in connections:
            await ws.close()

    run(scenario())


def test_hash_on_a_path_segment_is_sticky_per_segment(gateway, workers):
    server, path = start_backend_gateway(gateway, "--route", "hash:path:2", threads=2)
    workers("python", "echo", path, "--tag", "A")
    workers("python", "echo", path, "--tag", "B")
    wait_for_links(server, 2)

    async def tag_for(request_path, label):
        ws = await open_client(server.port, request_path)
        tag = await answering_worker(ws, label)
        await ws.close()
        return tag

    async def scenario():
        by_room = {}
        for room in [f"room-{index}" for index in range(12)]:
            # Only the second segment counts: the rest of the path and the query do not.
            tags = {await tag_for(f"/rooms/{room}/{suffix}", f"{room}{suffix}") for suffix in ("a", "b?x=1", "c/d")}
            assert len(tags) == 1, f"{room} went to {tags}"
            by_room[room] = tags.pop()
        assert set(by_room.values()) == {"A", "B"}, by_room
        # Paths without a second segment share the empty key, so they share a worker.
        short = {await tag_for(request_path, "short") for request_path in ("/", "/rooms", "/rooms/", "//rooms")}
        assert len(short) == 1, short

    run(scenario())
