"""What the gateway tells a worker (docs/PROTOCOL.md, "Gateway -> worker: events")."""

from dataclasses import dataclass, field
from typing import List, Optional, Tuple, Union


class LinkError(Exception):
    """The link failed or is closed: a gateway ERROR (`code` set), broken bytes, or a closed socket."""

    def __init__(self, message: str, code: Optional[int] = None):
        super().__init__(message if code is None else f"gateway error {code}: {message}")
        self.code = code
        self.text = message


@dataclass(frozen=True)
class Hello:
    """The gateway's HELLO."""
    version: int
    max_frame: int
    link_id: int
    gateway_id: str


@dataclass(frozen=True)
class Open:
    """A client connected (`needs_decision`: answer with accept or reject) or was moved here."""
    conn: int
    remote: str
    path: str
    query: str
    protocols: List[str]
    headers: List[Tuple[str, str]]
    needs_decision: bool
    moved: bool

    def header(self, name: str) -> Optional[str]:
        """The first forwarded header called `name` (any case)."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    def query_value(self, name: str) -> Optional[str]:
        """The first query parameter called `name`, percent-decoded."""
        from urllib.parse import parse_qsl
        return next((value for key, value in parse_qsl(self.query, keep_blank_values=True) if key == name), None)


@dataclass(frozen=True)
class Message:
    """A whole client message: `str` for text, `bytes` for binary."""
    conn: int
    data: Union[str, bytes]


@dataclass(frozen=True)
class Closed:
    """Exactly once per Open: the client's code, 1006 without one, or the code a CLOSE used."""
    conn: int
    code: int
    reason: str


@dataclass(frozen=True)
class Flow:
    """The client's send queue passed half its limit (`slow`) or drained again."""
    conn: int
    slow: bool


@dataclass(frozen=True)
class Gap:
    """A subscribe with `since` found messages (since, evicted] gone: resync the client."""
    conn: int
    topic: str
    since: int
    evicted: int


@dataclass(frozen=True)
class Presence:
    """Who is subscribed to `topic`: `total` subscribers, `conns` listed from `offset` on."""
    request: int
    topic: str
    total: int
    offset: int
    conns: List[int] = field(default_factory=list)


@dataclass(frozen=True)
class Draining:
    """The gateway is shutting down; its connections close within `deadline_ms`."""
    deadline_ms: int


@dataclass(frozen=True)
class GatewayError:
    """ERROR: why the gateway is closing the link (codes in docs/PROTOCOL.md)."""
    code: int
    message: str


@dataclass(frozen=True)
class Subscribed:
    """The client subscribed itself to `topic` by a control message (`--client-topics`)."""
    conn: int
    topic: str


@dataclass(frozen=True)
class Unsubscribed:
    """The client unsubscribed itself from `topic`."""
    conn: int
    topic: str


Event = Union[Open, Message, Closed, Flow, Gap, Presence, Draining, Subscribed, Unsubscribed]
