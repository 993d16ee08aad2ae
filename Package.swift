// swift-tools-version:6.0
//
// RingGate: a WebSocket gateway on io_uring. The C core (CRingCore) owns rings, sockets and
// buffers; the Swift modules above it own protocols and policy. See README.md for the layers.
import PackageDescription

/// One settings list for every Swift target.
let swiftSettings: [SwiftSetting] = [
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0409-access-level-on-imports.md
    .enableUpcomingFeature("InternalImportsByDefault"),
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0444-member-import-visibility.md
    .enableUpcomingFeature("MemberImportVisibility"),
    // A worker's state belongs to its one thread, so the runtime's dynamic exclusivity checks
    // (a swift_beginAccess per access to a worker's stored property) guard nothing there and
    // cost about 3 % of the echo path in perf. Release builds leave them out; debug builds,
    // which run the tests, keep them and still catch overlapping accesses.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "RingGate",
    products: [
        .executable(name: "ringgate", targets: ["ringgate"]),
        .executable(name: "ringload", targets: ["ringload"]),
        .library(name: "RingGateway", targets: ["RingGateway"]),
        .library(name: "RingGateService", targets: ["RingGateService"]),
        .library(name: "RingWebSocket", targets: ["RingWebSocket"]),
        .library(name: "RingTimers", targets: ["RingTimers"]),
        .library(name: "RingEngine", targets: ["RingEngine"]),
        .library(name: "RingGateBackend", targets: ["RingGateBackend"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(
            name: "CRingCore",
            cSettings: [
                .define("_GNU_SOURCE"),
                // Debug builds (the tests) stop at a broken invariant; release builds count it,
                // log it and close that connection (RG_BUG in internal.h).
                .define("RG_ABORT_ON_BUG", .when(configuration: .debug)),
                .unsafeFlags(["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]),
            ],
            linkerSettings: [
                .linkedLibrary("uring"), .linkedLibrary("numa"),
                .linkedLibrary("ssl"), .linkedLibrary("crypto"), .linkedLibrary("pthread"),
            ]
        ),
        .target(name: "RingEngine", dependencies: ["CRingCore"], swiftSettings: swiftSettings),
        .target(name: "CDigest", linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "RingWebSocket", dependencies: ["CDigest"], swiftSettings: swiftSettings),
        .target(name: "RingTimers", swiftSettings: swiftSettings),
        .target(name: "RingGateProtocol", swiftSettings: swiftSettings),
        .target(name: "RingGateBackend", dependencies: ["RingGateProtocol"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "ringgate-echo-worker", dependencies: ["RingGateBackend"], path: "Examples/swift/EchoWorker",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ringgate-chat-worker", dependencies: ["RingGateBackend"], path: "Examples/swift/ChatWorker",
            swiftSettings: swiftSettings
        ),
        .target(name: "RingTopics", dependencies: ["RingEngine", "RingWebSocket"], swiftSettings: swiftSettings),
        .target(
            name: "RingGateway",
            dependencies: [
                "RingTopics", "RingEngine", "RingWebSocket", "RingTimers", "RingGateProtocol",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RingGateService",
            dependencies: ["RingEngine", "RingGateway", "RingWebSocket", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ringgate",
            dependencies: [
                "RingGateService", "RingGateway", "RingEngine", "RingWebSocket",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ringload",
            dependencies: [
                "RingEngine", "RingWebSocket", "RingTimers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "CRingCoreTests", dependencies: ["RingEngine", "CRingCore"], swiftSettings: swiftSettings),
        .testTarget(name: "RingWebSocketTests", dependencies: ["RingWebSocket"], swiftSettings: swiftSettings),
        .testTarget(name: "RingTopicsTests", dependencies: ["RingTopics", "RingEngine"], swiftSettings: swiftSettings),
        .testTarget(name: "RingTimersTests", dependencies: ["RingTimers"], swiftSettings: swiftSettings),
        .testTarget(name: "RingGatewayTests", dependencies: [
                "RingGateway", "RingEngine", "RingWebSocket", "RingTimers", .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: swiftSettings),
        .testTarget(
            name: "RingGateServiceTests",
            dependencies: ["RingGateService", "RingGateway", "RingEngine", "RingWebSocket", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "RingGateBackendTests", dependencies: ["RingGateBackend", "RingGateProtocol"], swiftSettings: swiftSettings),
    ]
)
