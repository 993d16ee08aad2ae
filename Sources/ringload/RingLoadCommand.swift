import ArgumentParser
import Histogram
import RingEngine
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

@main
struct RingLoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ringload",
        abstract: "WebSocket load generator on RingGate's io_uring engine.",
        discussion: """
            Scenarios: idle (open, upgrade, hold, answer pings), trickle (1-byte messages at random \
            intervals, echoed), echo (C connections x W messages in flight x S bytes), broadcast (receive \
            only: a worker subscribes every connection and publishes --messages timestamped messages; \
            counts each message's deliveries and its time until the last subscriber has it).
            Connections are direct descriptors spread over --workers rings, so the open-file limit caps
            each ring, not the run. Every phase is bounded in time; the run stops by itself.
            After the hold every open connection sends a probe and counts as held only if its echo \
            comes back (not in broadcast). Exit status 1 when any connection was not upgraded or not \
            held, or the ramp hit its limit ("problems" in the report); a client above 90 % of its \
            core or a trickle below 90 % of its nominal rate are reported as "flags".
            """
    )

    @Argument(help: "idle, trickle, echo or broadcast.") var scenario: String
    @Option(help: "ws://HOST:PORT/PATH of the server.") var url = "ws://127.0.0.1:8080/"
    @Option(help: "Connections to open.") var connections = 100
    @Option(help: "Seconds to hold (idle, trickle), to measure (echo) or at most to wait for every delivery (broadcast) once all are open.") var duration = 10.0
    @Option(help: "Rings (threads) of the load generator; each holds at most the open-file limit.") var workers = 2
    @Option(help: "New connections per second.") var ramp = 20_000
    @Option(help: ArgumentHelp(
        "At most this many connections per ring between connect and upgrade; 0: no bound.",
        discussion: "With a --ramp faster than the server, new connects follow upgrades as they complete "
            + "instead of the pace, so the server sets the rate without its listen backlog overflowing."
    ))
    var maxPending = 0
    @Option(help: ArgumentHelp(
        "End-of-hold probes per second, over all rings.",
        discussion: "Each open connection sends one probe at the end of the hold and is held only if its echo "
            + "comes back; paced, so the probes are not a burst that starves the replies to the server's pings."
    ))
    var probeRate = 20_000
    @Option(help: ArgumentHelp(
        "Source addresses 127.0.0.1..127.0.0.K, each with its own port range; 0: the kernel's choice.",
        discussion: "Default for a 127.x target: one per 10000 connections (the kernel's port search slows "
            + "past about half its range per address)."
    ))
    var sourceAddresses: Int?
    @Option(help: "echo: message size in bytes (at least 8: a timestamp rides in it).") var messageSize = 32
    @Option(help: "echo: messages in flight per connection.") var inFlight = 1
    @Option(help: "broadcast: messages the publisher sends (each should reach every connection).") var messages = 1
    @Option(help: "trickle: shortest interval between a connection's messages, seconds.") var trickleMin = 10.0
    @Option(help: "trickle: longest interval, seconds.") var trickleMax = 60.0
    @Option(help: "Server process to report RSS and CPU for.") var serverPid: Int32?
    @Option(help: "Receive buffers per ring.") var bufferCount: UInt32 = 256
    @Option(help: "Bytes per receive buffer.") var bufferSize: UInt32 = 4096
    @Option(help: "Once a completion arrives, wait up to this many microseconds for more before waking (Linux 6.12; 0: wake at once).")
    var batchWaitUs: UInt32 = 0
    @Flag(help: "Print the result as JSON on stdout.") var json = false

    func validate() throws {
        guard LoadPlan.Scenario(rawValue: scenario) != nil else {
            throw ValidationError("scenario must be idle, trickle, echo or broadcast (got \(scenario))")
        }
        guard ParsedURL(url) != nil else { throw ValidationError("--url must look like ws://HOST:PORT/PATH (got \(url))") }
        guard connections > 0, workers > 0, ramp > 0 else { throw ValidationError("--connections, --workers and --ramp must be above 0") }
        guard ramp >= workers else { throw ValidationError("--ramp must be at least --workers (each ring opens one connection per second at least)") }
        guard probeRate >= workers else { throw ValidationError("--probe-rate must be at least --workers") }
        guard maxPending >= 0 else { throw ValidationError("--max-pending must be 0 or more") }
        guard duration > 0, duration <= 3600 else { throw ValidationError("--duration must be in (0, 3600] seconds") }
        guard messageSize >= 8, messageSize <= 1 << 20 else { throw ValidationError("--message-size must be 8..1048576") }
        guard inFlight >= 1, inFlight <= 1024 else { throw ValidationError("--in-flight must be 1..1024") }
        guard messages >= 1, messages <= 10_000_000 else { throw ValidationError("--messages must be 1..10000000") }
        guard batchWaitUs <= 100_000 else { throw ValidationError("--batch-wait-us must be 0..100000") }
        guard trickleMin > 0, trickleMax >= trickleMin else { throw ValidationError("need 0 < --trickle-min <= --trickle-max") }
        if let sourceAddresses, !(0...250).contains(sourceAddresses) {
            throw ValidationError("--source-addresses must be 0..250")
        }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        let target = ParsedURL(url)!
        let plan = LoadPlan(
            scenario: LoadPlan.Scenario(rawValue: scenario)!, host: target.host, port: target.port, path: target.path,
            connections: connections, durationSeconds: duration, workers: workers, rampPerSecond: ramp,
            maxPendingPerWorker: maxPending,
            sourceAddresses: sourceAddresses ?? (target.host.hasPrefix("127.") ? min(250, (connections + 9999) / 10000) : 0),
            messageBytes: messageSize, inFlight: inFlight, messages: messages,
            trickleMinMs: Int(trickleMin * 1000), trickleMaxMs: Int(trickleMax * 1000), tickMs: 10,
            receiveBufferBytes: bufferSize, receiveBufferCount: bufferCount, batchWaitMicroseconds: batchWaitUs, serverPID: serverPid, json: json,
            probePerSecond: probeRate
        )
        let result = try LoadRun(plan: plan).execute()
        if json {
            print(result.json())
        } else {
            print(result.summary())
        }
        // Connections not upgraded or not held, or a ramp cut by its limit: the figures are
        // printed, and the exit status says the run failed.
        if !result.problems.isEmpty { throw ExitCode(1) }
    }
}

/// ws://HOST:PORT/PATH split into its parts.
struct ParsedURL {
    var host: String
    var port: UInt16
    var path: String

    init?(_ text: String) {
        guard text.hasPrefix("ws://") else { return nil }
        let rest = text.dropFirst(5)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            port = after.hasPrefix(":") ? UInt16(after.dropFirst()) ?? 0 : 80
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = UInt16(authority[authority.index(after: colon)...]) ?? 0
        } else {
            host = String(authority)
            port = 80
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard !host.isEmpty, port != 0 else { return nil }
    }
}
