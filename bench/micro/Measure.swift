// Shared timing and reporting for every benchmark family.

/// One row of a results table.
struct Measurement {
    /// What was measured, e.g. "schedule".
    var name: String
    /// Operations done in the fastest round.
    var operations: Int
    /// Nanoseconds per operation in each round.
    var nanosecondsPerOperation: [Double]

    /// The fastest round.
    var best: Double { nanosecondsPerOperation.min()! }

    /// The median round.
    var median: Double { nanosecondsPerOperation.sorted()[nanosecondsPerOperation.count / 2] }
}

/// Converts a duration to nanoseconds.
func nanoseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1e9 + Double(attoseconds) / 1e9
}

/// Runs `setUp` untimed and `body` timed, `rounds` times; `body` returns how many operations it did.
func measure(_ name: String, rounds: Int, setUp: () -> Void = {}, _ body: () -> Int) -> Measurement {
    let clock = ContinuousClock()
    var perOperation: [Double] = []
    var operations = 0
    for _ in 0..<rounds {
        setUp()
        var done = 0
        let elapsed = clock.measure { done = body() }
        precondition(done > 0, "\(name): no operations")
        operations = done
        perOperation.append(nanoseconds(elapsed) / Double(done))
    }
    return Measurement(name: name, operations: operations, nanosecondsPerOperation: perOperation)
}

/// Prints measurements as a table.
func printTable(_ title: String, _ rows: [Measurement]) {
    print(title)
    print("operation         ops/round   best ns/op   median ns/op")
    for row in rows {
        print(
            padRight(row.name, 16), pad(String(row.operations), 11), pad(format(row.best), 12),
            pad(format(row.median), 14)
        )
    }
}

/// Formats a figure with one decimal.
func format(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

/// Right-aligns `text` in `width` columns.
func pad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
}

/// Left-aligns `text` in `width` columns.
func padRight(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(0, width - text.count))
}

/// Reads `--name value` from `arguments`, or returns `fallback`.
func intOption(_ name: String, in arguments: [String], default fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count,
        let value = Int(arguments[index + 1])
    else { return fallback }
    return value
}

/// Keeps a result alive so the optimizer cannot drop the work that produced it.
@inline(never)
func consume<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
