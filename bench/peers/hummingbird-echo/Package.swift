// swift-tools-version:6.1
//
// A Hummingbird 2 WebSocket echo server, run beside ringgate in side-by-side benchmarks. It is its
// own package so that Hummingbird and NIO never enter the gateway's dependency graph. Build in
// release mode:
//
//     swift build -c release --package-path bench/peers/hummingbird-echo --scratch-path bench/peers/hummingbird-echo/.build
//     bench/peers/hummingbird-echo/.build/release/hummingbird-echo --port 8080 --threads 1
import PackageDescription

/// The same upcoming features as the main package.
let swiftSettings: [SwiftSetting] = [
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0409-access-level-on-imports.md
    .enableUpcomingFeature("InternalImportsByDefault"),
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0444-member-import-visibility.md
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "hummingbird-echo",
    dependencies: [
        // No traits: the echo server reads no configuration providers and needs no full Foundation,
        // and leaving them out keeps swift-configuration out of the build.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", exact: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .executableTarget(
            name: "hummingbird-echo",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources",
            swiftSettings: swiftSettings
        ),
    ]
)
