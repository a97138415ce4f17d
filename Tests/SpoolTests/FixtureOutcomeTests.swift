import Foundation
@testable import Spool
import SpoolTesting
import Testing

/// fixtures/recovery/ (made by Tools/make-fixtures.sh): every golden and corrupt root reopens
/// exactly as its expected.json says: open (recovery) result, read result, group result, error
/// code, file, position and offset, and the `.broken` files left behind.
@Suite("Recovery fixtures")
struct FixtureOutcomeTests {
    static let directory = String(#filePath).components(separatedBy: "/Tests/")[0] + "/fixtures/recovery"

    static let cases: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        .filter { FileManager.default.fileExists(atPath: directory + "/" + $0 + "/expected.json") }.sorted()

    @Test("the fixtures cover each codec and every defect kind")
    func coverage() {
        for name in ["golden-none", "golden-lz4", "golden-zstd"] { #expect(Self.cases.contains(name), "\(name) is missing") }
        #expect(Self.cases.filter { $0.hasPrefix("corrupt-") }.count >= 13)
    }

    @Test("a recovery fixture reopens as its expected.json says", arguments: cases)
    func fixture(_ name: String) async throws {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.directory + "/" + name + "/expected.json")))
        let expected = try #require(json as? [String: Any])
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            try FileManager.default.copyItem(atPath: Self.directory + "/" + name + "/root", toPath: root)
            var options = SpoolOptions()
            options.createIfMissing = false
            options.logger.logLevel = .critical
            let spool = try SpoolRoot.open(at: root, options: options)
            defer { spool.close() }
            let open = try #require(expected["open"] as? [String: Any])
            let log: QueueLog
            do {
                log = try spool.queue("q")
                #expect(open["ok"] as? Bool == true, "\(name): open succeeded, expected \(open)")
            } catch let error as SpoolError {
                Self.expect(error, open, root: root, what: "\(name) open")
                return
            }
            let read = try #require(expected["read"] as? [String: Any])
            do {
                let records = try readAll(log)
                #expect(read["ok"] as? Bool == true, "\(name): the read succeeded, expected \(read)")
                #expect(records.count == read["records"] as? Int)
                #expect(log.committed.nextOffset == Int64(read["next_offset"] as? Int ?? -1))
                for record in records {
                    let prefix = Array("{\"id\":\(record.offset + 1),".utf8)
                    #expect(record.value?.starts(with: prefix) == true, "\(name): offset \(record.offset) holds another task")
                    #expect(record.value?.count == 250)
                }
                var reader = log.reader(from: 55)
                #expect(try reader.read(max: 1).first?.offset == 55)
            } catch let error as SpoolError {
                Self.expect(error, read, root: root, what: "\(name) read")
            }
            let group = try #require(expected["group"] as? [String: Any])
            do {
                let consumer = try spool.group("g", on: "q")
                #expect(group["ok"] as? Bool == true, "\(name): the group opened, expected \(group)")
                #expect(consumer.progress.watermark == Int64(group["watermark"] as? Int ?? -1))
            } catch let error as SpoolError {
                Self.expect(error, group, root: root, what: "\(name) group")
            }
            for file in expected["broken_files"] as? [String] ?? [] {
                #expect(FileManager.default.fileExists(atPath: root + "/" + file), "\(name): \(file) was not left")
            }
        }
    }

    static func expect(_ error: SpoolError, _ outcome: [String: Any], root: String, what: String) {
        #expect(outcome["ok"] as? Bool == false, "\(what) failed unexpectedly: \(error)")
        #expect(error.code.rawValue == outcome["code"] as? String, "\(what): \(error)")
        if let file = outcome["file"] as? String { #expect(error.path == root + "/" + file, "\(what): \(error)") }
        if let position = outcome["position"] as? Int { #expect(error.position == Int64(position), "\(what): \(error)") }
        if let offset = outcome["offset"] as? Int { #expect(error.offset == Int64(offset), "\(what): \(error)") }
    }
}
