#!/usr/bin/env python3
"""Echo worker: accepts every client and sends each message back. With --tag NAME, text replies
start with "NAME: ", which shows which worker answered.

    ringgate --backend-socket /tmp/ringgate.sock &
    python3 clients/python/examples/echo_worker.py --socket /tmp/ringgate.sock [--tag A]
"""

import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ringgate_worker  # noqa: E402  (the package is used from the source tree)


async def main(args):
    name = args.name or args.tag or f"echo-{os.getpid()}"
    prefix = f"{args.tag}: " if args.tag else ""
    link = await ringgate_worker.connect(args.socket, name=name)
    print(f"echo worker {name} connected to {link.gateway.gateway_id}", flush=True)
    async for event in link:
        if isinstance(event, ringgate_worker.Open) and event.needs_decision:
            await link.accept(event.conn)
        elif isinstance(event, ringgate_worker.Message):
            reply = prefix + event.data if isinstance(event.data, str) else event.data
            await link.send(event.conn, reply)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", default="/tmp/ringgate.sock")
    parser.add_argument("--name")
    parser.add_argument("--tag")
    try:
        asyncio.run(main(parser.parse_args()))
    except ringgate_worker.LinkError as error:
        sys.exit(f"echo worker: {error}")
