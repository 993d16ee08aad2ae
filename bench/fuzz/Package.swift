// swift-tools-version:6.0
//
// libFuzzer target for RingWebSocket's parsers, kept out of the main package because it
// needs sanitizer flags (see run.sh). Depends on the root package by path.
import PackageDescription

let package = Package(
    name: "RingWebSocketFuzz",
    dependencies: [
        .package(name: "RingGate", path: "../.."),
    ],
    targets: [
        .target(name: "CFuzzerDriver"),
        .executableTarget(
            name: "RingWebSocketFuzz",
            dependencies: ["CFuzzerDriver", .product(name: "RingWebSocket", package: "RingGate")],
            swiftSettings: [
                // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0409-access-level-on-imports.md
                .enableUpcomingFeature("InternalImportsByDefault"),
                // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0444-member-import-visibility.md
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        ),
    ]
)
