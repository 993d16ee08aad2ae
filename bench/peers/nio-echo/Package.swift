// swift-tools-version:6.0
//
// A SwiftNIO WebSocket echo server, run beside ringgate in side-by-side benchmarks. It is its own
// package so that NIO never enters the gateway's dependency graph. Build in release mode:
//
//     swift build -c release --package-path bench/peers/nio-echo --scratch-path bench/peers/nio-echo/.build
//     bench/peers/nio-echo/.build/release/nio-echo --port 8080 --threads 1
import PackageDescription

/// The same upcoming features as the main package.
let swiftSettings: [SwiftSetting] = [
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0409-access-level-on-imports.md
    .enableUpcomingFeature("InternalImportsByDefault"),
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0444-member-import-visibility.md
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "nio-echo",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .executableTarget(
            name: "nio-echo",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources",
            swiftSettings: swiftSettings
        ),
    ]
)
