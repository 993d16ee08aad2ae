#!/usr/bin/env python3
"""Chat worker: a client joins room NAME from ?room=NAME (or the last path segment, /chat/NAME),
and every text it sends reaches everyone in the room as "nick: text". A demo of auth: clients
without a `token` query parameter or an Authorization header get 401.

    ringgate --backend-socket /tmp/ringgate.sock &
    python3 clients/python/examples/chat_worker.py --socket /tmp/ringgate.sock
    python3 -m websockets 'ws://127.0.0.1:8080/chat?room=lobby&nick=ann&token=x'
"""

import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ringgate_worker  # noqa: E402  (the package is used from the source tree)


def member(event):
    """(nick, room topic) of a connecting client."""
    segments = [s for s in event.path.split("/") if s]
    room = event.query_value("room") or (segments[-1] if segments else "lobby")
    return event.query_value("nick") or f"conn-{event.conn:x}", f"room:{room}"


async def main(args):
    link = await ringgate_worker.connect(args.socket, name=args.name or f"chat-{os.getpid()}")
    print(f"chat worker {link.name} connected to {link.gateway.gateway_id}", flush=True)
    members = {}
    async for event in link:
        if isinstance(event, ringgate_worker.Open):
            if event.needs_decision and event.query_value("token") is None and event.header("authorization") is None:
                await link.reject(event.conn, 401, "a token is required\n")
                continue
            members[event.conn] = member(event)
            if event.needs_decision:
                await link.accept(event.conn)
            await link.subscribe(event.conn, members[event.conn][1])
        elif isinstance(event, ringgate_worker.Message) and isinstance(event.data, str):
            if event.conn in members:
                nick, topic = members[event.conn]
                await link.publish(topic, f"{nick}: {event.data}")
        elif isinstance(event, ringgate_worker.Closed):
            members.pop(event.conn, None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", default="/tmp/ringgate.sock")
    parser.add_argument("--name")
    try:
        asyncio.run(main(parser.parse_args()))
    except ringgate_worker.LinkError as error:
        sys.exit(f"chat worker: {error}")
