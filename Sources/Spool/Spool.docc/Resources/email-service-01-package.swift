// swift-tools-version:6.1
// The app that Spool's DocC tutorial builds: Hummingbird enqueues typed jobs over HTTP, a Spool
// Worker handles them in the same ServiceGroup, Prometheus scrapes the metrics, SIGTERM shuts
// both down gracefully. `smoke.sh` builds and drives it.
import Foundation
import PackageDescription

// Spool itself, two directories up. SwiftPM names a path dependency after its directory, which
// differs between checkouts (a clone, a worktree), so the name is computed here.
let spool = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().deletingLastPathComponent().standardizedFileURL

let package = Package(
    name: "EmailService",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: spool.path),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "EmailService",
            dependencies: [
                .product(name: "Spool", package: spool.lastPathComponent.lowercased()),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
