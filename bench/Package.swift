// swift-tools-version:6.0
//
// RingGate benchmarks, kept apart from the main package so that the gateway's build and dependencies
// stay free of benchmark code. Build in release mode:
//
//     swift build -c release --package-path bench --scratch-path bench/.build
//     bench/.build/release/ringmicro wheel
//
// `ringmicro` holds the micro-benchmarks, one file per family under micro/, chosen by its first
// argument. A new family is a new file there plus a case in micro/main.swift, and a product below
// if it needs another RingGate module.
import PackageDescription

/// The same upcoming features as the main package.
let swiftSettings: [SwiftSetting] = [
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0409-access-level-on-imports.md
    .enableUpcomingFeature("InternalImportsByDefault"),
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0444-member-import-visibility.md
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "RingGateBench",
    dependencies: [
        .package(name: "RingGate", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "ringmicro",
            dependencies: [
                .product(name: "RingTimers", package: "RingGate"),
                .product(name: "RingWebSocket", package: "RingGate"),
            ],
            path: "micro",
            swiftSettings: swiftSettings
        ),
    ]
)
