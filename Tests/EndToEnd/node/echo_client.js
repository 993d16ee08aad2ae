// Echo client on Node's built-in WebSocket (undici), for test_node_websocket.py.
//
// Usage: node echo_client.js URL CLOSE_CODE [SUBPROTOCOL...]
// Sends text, a Uint8Array, an ArrayBuffer, two 70000-byte messages, then text and binary
// messages at every payload-length boundary (empty, 125, 126, 65535, 65536 bytes), all at once;
// then a 3 MiB text and a 3 MiB binary message, each once every earlier echo is back. Waits for
// each echo, then closes with CLOSE_CODE. Prints one JSON line: what was sent and received (type,
// byte length, SHA-256, equality), the negotiated subprotocol and the close event. Exits 0 even
// on failure, so the test can assert on the report; a guard timer ends it if the server goes quiet.
"use strict";
const { createHash } = require("node:crypto");

const [url, closeCode, ...protocols] = process.argv.slice(2);
const report = { opened: false, protocol: null, echoes: [], close: null, errors: [] };

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const bytesOf = (data) => (typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data));

const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
const buffer = new Uint8Array([0xff, 0x00, 0x7f, 0x80]).buffer;
const bigText = "\u00e9".repeat(35000); // 70000 bytes of UTF-8
const bigBinary = Uint8Array.from({ length: 70000 }, (_, i) => (i * 7) % 256);
// `size` bytes of UTF-8: three-byte characters, so long messages split receive buffers inside a
// character, then ASCII to make up the size. test_node_websocket.py builds the same bytes.
const textOfSize = (size) => "\u20ac".repeat(Math.floor(size / 3)) + "a".repeat(size % 3);
const binaryOfSize = (size) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) % 256);
// 0 and 125 fit the 7-bit length, 126 and 65535 take the 16-bit one, 65536 and 3 MiB the 64-bit.
const boundarySizes = [0, 125, 126, 65535, 65536];
const largeSize = 3 << 20;
// A message larger than the gateway's send-queue limit (1 MiB by default) is echoed only into an
// empty queue, so each large one waits (`alone`) until every earlier echo is back.
const outgoing = [
  { name: "text", data: "hello from node \u2713" },
  { name: "uint8array", data: binary },
  { name: "arraybuffer", data: buffer },
  { name: "text 70000", data: bigText },
  { name: "binary 70000", data: bigBinary },
  ...boundarySizes.flatMap((size) => [
    { name: `text ${size}`, data: textOfSize(size) },
    { name: `binary ${size}`, data: binaryOfSize(size) },
  ]),
  { name: `text ${largeSize}`, data: textOfSize(largeSize), alone: true },
  { name: `binary ${largeSize}`, data: binaryOfSize(largeSize), alone: true },
];
let sent = 0;

function sendWhatMayGo() {
  while (sent < outgoing.length && (!outgoing[sent].alone || report.echoes.length === sent)) {
    ws.send(outgoing[sent].data);
    sent += 1;
  }
}

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  clearTimeout(guard);
  process.stdout.write(JSON.stringify(report) + "\n", () => process.exit(0));
}
const guard = setTimeout(() => {
  report.errors.push("timed out");
  finish();
}, 25000);

const ws = new WebSocket(url, protocols);
ws.binaryType = "arraybuffer";

ws.onopen = () => {
  report.opened = true;
  report.protocol = ws.protocol;
  sendWhatMayGo();
};

ws.onmessage = (event) => {
  const original = outgoing[report.echoes.length];
  const received = bytesOf(event.data);
  report.echoes.push({
    name: original ? original.name : "unexpected",
    type: typeof event.data === "string" ? "text" : "binary",
    bytes: received.length,
    sha256: sha256(received),
    equal: original !== undefined && received.equals(bytesOf(original.data)),
  });
  if (report.echoes.length === outgoing.length) ws.close(Number(closeCode), "node done");
  else sendWhatMayGo();
};

ws.onerror = (event) => {
  report.errors.push(String(event.message || event.type));
};

ws.onclose = (event) => {
  report.close = { code: event.code, reason: event.reason, wasClean: event.wasClean };
  finish();
};
