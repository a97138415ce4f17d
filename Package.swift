// swift-tools-version:6.1
// Spool: a file-backed, append-only log queue engine. See README.md and ../shared/DESIGN.md.
import PackageDescription

let package = Package(
    name: "Spool",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Spool", targets: ["Spool"]),
        // Kafka's wire protocol, pure (no I/O): the codec `spool serve` is built on (issue 16).
        .library(name: "SpoolKafkaProtocol", targets: ["SpoolKafkaProtocol"]),
        .executable(name: "spool", targets: ["spool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // Metrics through a factory in options: the library never bootstraps a global system.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        // The worker runner is a Service, so an application's ServiceGroup shuts it down on SIGTERM.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        // Spans around enqueue and handling through the app's tracer; the library never bootstraps one.
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.1.0"),
        // `swift package generate-documentation`: builds the DocC catalog and its tutorial (Tools/docs-ci.sh).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // C: CRC-32C with SSE4.2 / ARMv8 instructions and a table fallback, chosen at run time.
        .target(name: "CCRC32C"),
        // C: Linux calls that Glibc's Swift module does not expose (openat2, for root confinement).
        .target(name: "CSpoolSys"),
        .systemLibrary(
            name: "CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]),
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        // gzip (Kafka codec 1) through zlib, snappy (codec 2) through libsnappy's C API.
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .systemLibrary(
            name: "CSnappy", pkgConfig: "snappy",
            providers: [.apt(["libsnappy-dev"]), .brew(["snappy"])]),
        // Pure format code: no file I/O. FORMAT.md lives beside it.
        .target(
            name: "SpoolFormat",
            dependencies: ["CCRC32C", "CLZ4", "CZstd", "CZlib", "CSnappy"],
            exclude: ["FORMAT.md"]),
        // Kafka wire-protocol codecs, generated from kafka-protocol.spec (README.md beside it).
        .target(
            name: "SpoolKafkaProtocol",
            exclude: ["README.md", "kafka-protocol.spec"]),
        // The engine.
        .target(
            name: "Spool",
            dependencies: [
                "SpoolFormat", "CSpoolSys",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]),
        // Test seams and helpers, never part of the `Spool` product: the power-cut and
        // fault-injecting file systems (installed through `SpoolOptions.fileSystem`), and the
        // helpers every test target shares (SplitMix64, byte mutators, temporary directories).
        // Not a product: the test targets and the drill (SpoolCLI) depend on the target itself.
        .target(name: "SpoolTesting", dependencies: ["Spool", "SpoolFormat"]),
        // The `spool` command's subcommands, kept in a library so tests can run them in-process.
        // SpoolTesting: `spool drill`'s children install the power-cut file system themselves.
        .target(
            name: "SpoolCLI",
            dependencies: [
                "Spool", "SpoolFormat", "SpoolTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]),
        .executableTarget(name: "spool", dependencies: ["SpoolCLI"]),
        // W4's claim+ack loop without Swift concurrency, for callgrind (issue 19; BENCHMARKS.md).
        .executableTarget(name: "spool-profile", dependencies: ["Spool", "SpoolFormat"], path: "Tools/spool-profile"),
        .testTarget(name: "SpoolFormatTests", dependencies: ["SpoolFormat", "SpoolTesting", "CCRC32C", "CZlib", "CSnappy"]),
        .testTarget(
            name: "SpoolTests",
            dependencies: [
                "Spool", "SpoolFormat", "SpoolTesting",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ]),
        .testTarget(
            name: "SpoolKafkaProtocolTests",
            dependencies: ["SpoolKafkaProtocol", "SpoolFormat", "SpoolTesting"],
            exclude: ["README.md"]),
        .testTarget(name: "SpoolCLITests", dependencies: ["SpoolCLI", "Spool", "SpoolFormat", "SpoolTesting"]),
    ],
    swiftLanguageModes: [.v6]
)
