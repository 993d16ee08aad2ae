import RingWebSocket

/// The page the built-in demo serves at `GET /` when no application worker is configured: a
/// browser WebSocket client of the echo demo that a person can watch. It shows the connection's
/// state, every echo with its round-trip time, a burst of 1,000 messages with its rate and
/// latency percentiles, and reconnects with full-jitter exponential backoff when the gateway
/// goes away (try stopping and restarting `scripts/run` with the page open).
enum DemoPage {
    /// The whole HTTP answer, built once: serving the page allocates nothing per request.
    static let response: [UInt8] = HandshakeResponse.plain(
        status: 200, reason: "OK", contentType: "text/html; charset=utf-8", body: Array(html.utf8),
        extraHeaders: [HeaderField(name: "Cache-Control", value: "no-store")]
    )

    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>RingGate demo</title>
    <style>
      body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; padding: 0 1rem; color: #1d232a; }
      h1 { font-size: 1.4rem; margin-bottom: .2rem; }
      .muted { color: #5b6670; }
      #state { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; background: #ddd; font-weight: 600; }
      #state.open { background: #c9f2d0; } #state.connecting { background: #fff1b8; } #state.closed { background: #f8cdcd; }
      form { display: flex; gap: .5rem; margin: 1rem 0; }
      input { flex: 1; padding: .45rem; font: inherit; }
      button { padding: .45rem .9rem; font: inherit; cursor: pointer; }
      dl { display: grid; grid-template-columns: max-content auto; gap: .15rem 1rem; }
      dt { color: #5b6670; } dd { margin: 0; font-variant-numeric: tabular-nums; }
      #log { list-style: none; padding: 0; margin: 1rem 0; max-height: 22rem; overflow-y: auto; border-top: 1px solid #e2e6ea; }
      #log li { padding: .25rem 0; border-bottom: 1px solid #eef1f3; display: flex; justify-content: space-between; gap: 1rem; }
      #log li span:last-child { color: #5b6670; white-space: nowrap; }
    </style>
    </head>
    <body>
    <h1>RingGate</h1>
    <p class="muted">The built-in echo demo: this page holds a WebSocket to the gateway, which sends back every message it gets.
    Stop the gateway and start it again to watch the page reconnect.</p>
    <p>Connection: <span id="state">connecting</span> <span id="detail" class="muted"></span></p>
    <form id="send">
      <input id="text" autocomplete="off" placeholder="Type a message" maxlength="4000">
      <button type="submit" id="sendButton">Send</button>
      <button type="button" id="burst">Send 1,000</button>
    </form>
    <dl>
      <dt>Sent / echoed</dt><dd id="counts">0 / 0</dd>
      <dt>Last round trip</dt><dd id="rtt">-</dd>
      <dt>Last burst</dt><dd id="burstResult">-</dd>
      <dt>Reconnects</dt><dd id="reconnects">0</dd>
    </dl>
    <ul id="log"></ul>
    <script>
    "use strict";
    const $ = (id) => document.getElementById(id);
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/echo";
    let socket = null, attempt = 0, reconnects = 0, stableTimer = 0;
    let sent = 0, echoed = 0, nextId = 1;
    const pending = new Map();
    let burst = null;

    function setState(state, detail) {
      $("state").textContent = state;
      $("state").className = state;
      $("detail").textContent = detail || "";
    }

    function connect() {
      setState("connecting", attempt ? "attempt " + (attempt + 1) : "");
      socket = new WebSocket(url);
      socket.onopen = () => {
        setState("open", url);
        // Backoff starts over only once a connection has stayed up a while.
        stableTimer = setTimeout(() => { attempt = 0; }, 10000);
      };
      socket.onmessage = (event) => received(event.data);
      socket.onclose = (event) => {
        clearTimeout(stableTimer);
        pending.clear();
        if (burst) { burst = null; $("burstResult").textContent = "interrupted by the disconnect"; }
        // Full jitter: a random wait up to an exponentially growing ceiling, bounded at 5 s so a
        // person watching sees the page come back soon after the gateway does.
        const ceiling = Math.min(5000, 500 * 2 ** attempt);
        const wait = Math.round(Math.random() * ceiling);
        attempt += 1;
        setState("closed", "code " + event.code + (event.reason ? " (" + event.reason + ")" : "") + "; retrying in " + (wait / 1000).toFixed(1) + " s");
        setTimeout(() => { reconnects += 1; $("reconnects").textContent = reconnects; connect(); }, wait);
      };
    }

    function send(text) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      const id = nextId++;
      pending.set(id, performance.now());
      socket.send(JSON.stringify({ id: id, text: text }));
      sent += 1;
      return true;
    }

    function received(data) {
      let message;
      try { message = JSON.parse(data); } catch (error) { return; }
      const started = pending.get(message.id);
      if (started === undefined) return;
      pending.delete(message.id);
      const rtt = performance.now() - started;
      echoed += 1;
      $("counts").textContent = sent + " / " + echoed;
      $("rtt").textContent = rtt.toFixed(2) + " ms";
      if (burst && message.id >= burst.first && message.id < burst.first + burst.count) {
        burst.rtts.push(rtt);
        if (burst.rtts.length === burst.count) finishBurst();
        return;
      }
      const item = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = message.text;
      const time = document.createElement("span");
      time.textContent = rtt.toFixed(2) + " ms";
      item.append(text, time);
      $("log").prepend(item);
    }

    function finishBurst() {
      const seconds = (performance.now() - burst.started) / 1000;
      const sorted = burst.rtts.sort((a, b) => a - b);
      const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(2);
      $("burstResult").textContent = burst.count + " of " + burst.count + " back in " + (seconds * 1000).toFixed(0) +
        " ms (" + Math.round(burst.count / seconds) + " msg/s), round trip p50 " + at(0.5) + " ms, p99 " + at(0.99) + " ms";
      burst = null;
    }

    $("send").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("text").value.trim();
      if (text && send(text)) $("text").value = "";
    });

    $("burst").addEventListener("click", () => {
      if (burst || !socket || socket.readyState !== WebSocket.OPEN) return;
      burst = { first: nextId, count: 1000, rtts: [], started: performance.now() };
      $("burstResult").textContent = "sending...";
      for (let i = 0; i < burst.count; i++) send("burst " + i);
    });

    connect();
    </script>
    </body>
    </html>
    """#
}
