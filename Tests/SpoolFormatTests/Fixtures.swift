import Foundation

/// Files under the repository's `fixtures/` folder, located from this source file's path
/// (Tests/SpoolFormatTests/Fixtures.swift -> ../../), so tests run from any working directory.
enum Fixtures {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Fixtures.swift
        .deletingLastPathComponent()  // SpoolFormatTests
        .deletingLastPathComponent()  // Tests

    static func url(_ relativePath: String) -> URL {
        repositoryRoot.appendingPathComponent(relativePath)
    }

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        Array(try Data(contentsOf: url(relativePath)))
    }
}
