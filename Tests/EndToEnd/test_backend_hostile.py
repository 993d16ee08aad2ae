"""A hostile worker: garbage lengths, unknown types, malformed bodies, ids the gateway never
issued, commands before HELLO. The gateway answers ERROR with the documented code and closes
that link only; a well-behaved worker and its clients carry on."""

import struct

import pytest

from test_backend_support import (RawWorker, echo, open_client, run, start_backend_gateway,  # noqa: F401
                                  wait_for_links, workers)

NEVER_ISSUED = 0x7FFF_00FF_FFFF_FFFF  # gateway thread 32767: no such thread

CASES = {
    # name: (send HELLO first, bytes, expected ERROR codes)
    "length-too-large": (True, b"\xff\xff\xff\xff\x84", {2}),
    "length-zero": (True, b"\x00\x00\x00\x00", {2}),
    "unknown-type": (True, struct.pack("<IB", 1, 0x7F), {3}),
    "malformed-accept": (True, struct.pack("<IB", 4, 0x82) + b"\x01\x02\x03", {4}),
    "unknown-conn": (True, struct.pack("<IBQB", 11, 0x84, NEVER_ISSUED, 1) + b"x", {5}),
    "send-before-hello": (False, struct.pack("<IBQB", 11, 0x84, 1, 1) + b"x", {6}),
    "wrong-version": (False, struct.pack("<IBHH", 5, 0x81, 2, 0), {1}),
}


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_link_is_closed_alone(gateway, workers, case):
    hello, garbage, codes = CASES[case]
    server, path = start_backend_gateway(gateway, threads=2)
    workers("swift", "echo", path, "--tag", "good")
    wait_for_links(server, 1)

    async def scenario():
        before = await open_client(server.port)
        assert await echo(before, "before") == "good: before"
        hostile = RawWorker(path, hello=hello, name="hostile")
        hostile.sock.sendall(garbage)  # already framed, or deliberately not
        answer = hostile.read_frame()
        assert answer is not None, "the link closed without ERROR"
        kind, body = answer
        assert kind == 0x08, f"expected ERROR, got type {kind}"
        code = struct.unpack_from("<H", body)[0]
        assert code in codes, f"ERROR {code}: {body[2:].decode(errors='replace')}"
        assert hostile.read_frame() is None, "the gateway keeps the link open after ERROR"
        hostile.close()
        assert await echo(before, "after") == "good: after"
        after = await open_client(server.port)
        assert await echo(after, "new") == "good: new"
        await before.close()
        await after.close()

    run(scenario())
    stats = server.stop(until=lambda s: s["open"] == 0 and s["backend_protocol_errors"] >= 1)
    assert stats["backend_protocol_errors"] == 1


@pytest.mark.parametrize("case", ["no-hello", "stalled-frame"])
def test_a_silent_or_stalled_link_is_closed_after_its_timeout(gateway, workers, case):
    import time

    server, path = start_backend_gateway(gateway, "--backend-hello-timeout", "0.5", "--backend-frame-timeout", "0.5")
    workers("swift", "echo", path, "--tag", "good")
    wait_for_links(server, 1)

    async def scenario():
        client = await open_client(server.port)
        assert await echo(client, "before") == "good: before"
        started = time.monotonic()
        hostile = RawWorker(path, hello=case != "no-hello", name="stalling")
        if case == "stalled-frame":
            # A 16 MiB frame announced, 1 KiB of it sent, then nothing.
            hostile.sock.sendall(struct.pack("<IB", 16 << 20, 0x84) + b"x" * 1024)
        kind, body = hostile.read_frame()
        waited = time.monotonic() - started
        assert kind == 0x08 and struct.unpack_from("<H", body)[0] == 7, (kind, body)
        assert 0.4 <= waited <= 5, f"closed after {waited:.2f} s"
        assert hostile.read_frame() is None
        hostile.close()
        assert await echo(client, "after") == "good: after"
        await client.close()

    run(scenario())
    stats = server.stop(until=lambda s: s["open"] == 0 and s["backend_timeouts"] >= 1)
    assert stats["backend_timeouts"] == 1 and stats["backend_protocol_errors"] == 1
