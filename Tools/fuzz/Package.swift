// swift-tools-version:6.1
// libFuzzer targets for Spool's readers of untrusted bytes (Tools/fuzz/README.md). A library,
// not an executable: Tools/fuzz/build.sh links it with libFuzzer's own main.
import PackageDescription

let package = Package(
    name: "SpoolFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Spool", path: "../..")],
    targets: [
        .target(
            name: "SpoolFuzz",
            dependencies: [
                .product(name: "Spool", package: "Spool"),
                .product(name: "SpoolKafkaProtocol", package: "Spool"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
