"""RingGate worker SDK: speak docs/PROTOCOL.md to `ringgate --backend-socket PATH` from asyncio.

    link = await ringgate_worker.connect("/tmp/ringgate.sock", name="echo-1")
    async for event in link:
        if isinstance(event, ringgate_worker.Open) and event.needs_decision:
            await link.accept(event.conn)
        elif isinstance(event, ringgate_worker.Message):
            await link.send(event.conn, event.data)
"""

from .events import (Closed, Draining, Flow, Gap, GatewayError, Hello, LinkError, Message, Open, Presence, Subscribed,
                     Unsubscribed)
from .link import Link, connect

__all__ = [
    "connect", "Link", "LinkError", "Hello", "Open", "Message", "Closed", "Flow", "Gap", "Presence",
    "Draining", "Subscribed", "Unsubscribed", "GatewayError",
]
