import Glibc
import SpoolTesting
import Testing

/// The shipped `Spool` library carries no test seam: the power-cut and fault-injecting file
/// systems live in SpoolTesting, and the engine reads no environment variable (an app sets
/// everything through `SpoolOptions`). The DocC tutorial's example app code under
/// `Spool.docc/Resources` is not engine code, and is left out.
@Suite("Shipped library carries no test seam")
struct ShippedLibraryTests {
    /// What no file of Sources/Spool may mention.
    static let forbidden = ["PowerCut", "FaultInjecting", "SPOOL_DRILL", "getenv", "ProcessInfo.processInfo.environment", "environ["]

    /// Sources/Spool, found from this file's path (Tests/SpoolTests/ShippedLibraryTests.swift).
    static var librarySources: String {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/Sources/Spool"
    }

    /// Every file below `directory` (bounded depth), except those below `excluded`, with the
    /// forbidden words each mentions. Returns the files scanned and the findings.
    static func scan(_ directory: String, excluding excluded: String, depth: Int = 0) throws -> (files: Int, findings: [String]) {
        guard depth < 16, directory != excluded else { return (0, []) }
        var files = 0, findings: [String] = []
        for name in Files.list(directory) {
            let path = directory + "/" + name
            if Files.isDirectory(path) {
                let inner = try scan(path, excluding: excluded, depth: depth + 1)
                files += inner.files
                findings += inner.findings
                continue
            }
            files += 1
            let text = String(decoding: try Files.read(path), as: UTF8.self)
            for word in forbidden where text.contains(word) { findings.append("\(path) mentions \(word)") }
        }
        return (files, findings)
    }

    @Test("no file of Sources/Spool mentions the power-cut or fault-injecting file systems, the drill's variable, or reads the environment")
    func librarySourcesHoldNoTestSeamNorEnvironmentRead() throws {
        let sources = Self.librarySources
        try #require(Files.exists(sources + "/IO/FileSystem.swift"), "Sources/Spool not found at \(sources)")
        let (files, findings) = try Self.scan(sources, excluding: sources + "/Spool.docc/Resources")
        #expect(files > 50, "only \(files) files scanned under \(sources)")
        #expect(findings.isEmpty, "the shipped library carries a test seam: \(findings)")
    }

    @Test("the seam scan finds a planted mention of the power-cut file system or of getenv, and skips the excluded directory")
    func seamScanFindsAPlantedMention() throws {
        try withTemporaryDirectorySync { dir in
            try Files.makeDirectory(dir + "/IO")
            try Files.makeDirectory(dir + "/Resources")
            try Files.write(dir + "/IO/Seam.swift", Array("let fs = PowerCutFileSystem()\n".utf8))
            try Files.write(dir + "/Env.swift", Array("let home = getenv(\"HOME\")\n".utf8))
            try Files.write(dir + "/Resources/App.swift", Array("let e = ProcessInfo.processInfo.environment\n".utf8))
            let (files, findings) = try Self.scan(dir, excluding: dir + "/Resources")
            #expect(files == 2)
            #expect(findings.sorted() == [dir + "/Env.swift mentions getenv", dir + "/IO/Seam.swift mentions PowerCut"])
        }
    }
}
