import Foundation
import Testing

/// `spool bench all` and `Tools/bench-compare`: the report has every workload, and a slower
/// report is flagged.
@Suite("bench all")
struct BenchAllTests {
    static func runCompare(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", SpoolProcess.repositoryRoot + "/Tools/bench-compare"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("bench all --quick writes a report with W1–W12 from fresh processes, and bench-compare flags a 20% slowdown")
    func quickReportAndCompare() async throws {
        let dir = ScratchDirectory()
        let r = try await SpoolProcess.run(["bench", "all", "--dir", dir.path + "/bench", "--quick", "--out", dir.path + "/report.json"])
        #expect(r.status == 0, "\(r.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/report.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let workloads = try #require(report["workloads"] as? [[String: Any]])
        let ids = Set(workloads.compactMap { $0["id"] as? String })
        #expect(ids == ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W9", "W11", "W12"])
        for entry in workloads where entry["id"] as? String != "W5" {
            #expect((entry["max_rss_kib"] as? Int ?? 0) > 0, "\(entry["id"] ?? "?") has no peak RSS")
        }
        let recovered = workloads.first { $0["title"] as? String == "recovery after SIGKILL" }?["result"] as? [String: Any]
        #expect(recovered?["found"] as? Int == 1)

        // The same report against itself passes; with every tasks/s cut by 20% it fails.
        #expect(try Self.runCompare([dir.path + "/report.json", dir.path + "/report.json"]).status == 0)
        var slower = report
        slower["workloads"] = workloads.map { entry -> [String: Any] in
            var entry = entry
            if var result = entry["result"] as? [String: Any], let tps = result["tps"] as? Double {
                result["tps"] = tps * 0.8
                entry["result"] = result
            }
            return entry
        }
        try JSONSerialization.data(withJSONObject: slower).write(to: URL(fileURLWithPath: dir.path + "/slower.json"))
        let compared = try Self.runCompare([dir.path + "/report.json", dir.path + "/slower.json"])
        #expect(compared.status == 1)
        #expect(compared.output.contains("WORSE"))
    }

    @Test("bench all refuses a directory that exists, so it never mixes runs")
    func existingDirectory() async throws {
        let dir = ScratchDirectory()
        let r = try await SpoolProcess.run(["bench", "all", "--dir", dir.path, "--quick"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("must not exist"))
    }
}
