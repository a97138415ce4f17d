import Foundation
import Testing

/// Issue 15: the engine's floors (ARCHITECTURE.md). Each folder of `Sources/Spool` belongs to
/// one floor, and a file may name only types declared on its own floor or below. Until the
/// floors are SwiftPM targets of their own, this test is what enforces them.
@Suite("floors: no engine file reaches up to a higher floor")
struct FloorTests {
    /// Folder of Sources/Spool → floor, bottom first (ARCHITECTURE.md).
    static let floors: [String: Int] = [
        "Errors": 0,
        "Options": 1, "IO": 1, "Index": 1, "Compression": 1,
        "Log": 2, "Recovery": 2,
        "Queue": 3, "Jobs": 3,
        "Compaction": 4, "Inspect": 4,
        "Root": 5,
    ]
    static let floorNames = ["errors", "storage", "log", "queue", "maintenance", "root"]
    /// Generic parameter names that are not the engine's types.
    static let ignored: Set<String> = ["Element"]

    struct File { let path: String; let floor: Int; let code: String }

    static func files() -> [File] {
        return StyleTests.sources(under: "Sources/Spool").compactMap { path, lines in
            let folder = path.dropFirst("Sources/Spool/".count).split(separator: "/").first.map(String.init) ?? ""
            guard let floor = floors[folder] else { return nil }
            let code = lines.map { StyleTests.stripped($0) }.joined(separator: "\n")
            return File(path: path, floor: floor, code: code)
        }
    }

    /// Type name → the lowest floor declaring it.
    static func declarations(_ files: [File]) -> [String: Int] {
        let pattern = try! NSRegularExpression(
            pattern: #"^\s*(?:(?:public|package|private|fileprivate|internal|final|@\w+)\s+)*(?:struct|class|enum|protocol|actor|typealias)\s+(\w+)"#,
            options: .anchorsMatchLines)
        var found: [String: Int] = [:]
        for file in files {
            let code = file.code
            for match in pattern.matches(in: code, range: NSRange(code.startIndex..., in: code)) {
                guard let range = Range(match.range(at: 1), in: code) else { continue }
                let name = String(code[range])
                found[name] = min(found[name] ?? .max, file.floor)
            }
        }
        return found.filter { !ignored.contains($0.key) }
    }

    @Test("every folder of the engine is on a floor")
    func everyFolderHasAFloor() throws {
        let root = StyleTests.repository.appendingPathComponent("Sources/Spool").path
        let folders = try FileManager.default.contentsOfDirectory(atPath: root).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root + "/" + $0, isDirectory: &isDirectory) && isDirectory.boolValue && !$0.hasSuffix(".docc")
        }
        #expect(!folders.isEmpty)
        for folder in folders { #expect(Self.floors[folder] != nil, "Sources/Spool/\(folder) is on no floor: add it to FloorTests and ARCHITECTURE.md") }
    }

    @Test("no file names a type declared only on a floor above its own")
    func noUpwardReferences() {
        let files = Self.files()
        let declared = Self.declarations(files)
        #expect(declared.count > 100, "found \(declared.count) declarations")
        var upward: [String] = []
        for file in files {
            let words = Set(file.code.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init))
            for word in words {
                if let floor = declared[word], floor > file.floor {
                    upward.append("\(file.path) (\(Self.floorNames[file.floor])) names \(word) (\(Self.floorNames[floor]))")
                }
            }
        }
        #expect(upward.isEmpty, "references up the floors:\n\(upward.sorted().joined(separator: "\n"))")
    }
}
