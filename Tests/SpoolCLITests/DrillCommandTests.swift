import Foundation
import Testing

/// `spool drill` end to end: real child processes, real SIGKILL, the power-cut seam and byte
/// corruption, with the report parsed from --json.
@Suite("spool drill", .serialized)
struct DrillCommandTests {
    static func reports(_ stdout: String) throws -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for line in stdout.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            let report = try #require(object as? [String: Any])
            out[try #require(report["fault"] as? String)] = report
        }
        return out
    }

    @Test("kill and powercut cycles lose no acknowledged task, redeliver no acked one and invent none")
    func killAndPowerCut() async throws {
        let dir = ScratchDirectory()
        let r = try await SpoolProcess.run(["drill", "--dir", dir.path, "--faults", "kill,powercut", "--cycles", "4", "--seed", "42", "--json"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let reports = try Self.reports(r.stdout)
        for fault in ["kill", "powercut"] {
            let report = try #require(reports[fault], "no report for \(fault): \(r.stdout)")
            #expect(report["cycles"] as? Int == 4)
            #expect((report["kills"] as? Int ?? 0) > 0, "\(fault): nothing was killed")
            #expect((report["acknowledged_enqueues"] as? Int ?? 0) > 0, "\(fault): no enqueue was acknowledged")
            for field in ["lost", "redelivered_after_ack", "phantoms", "violations"] {
                #expect(report[field] as? Int == 0, "\(fault) \(field): \(report)")
            }
            #expect(report["recovery_p99_ms"] != nil)
        }
    }

    @Test("power cuts of roots the drill starts from nothing (a fresh root every cycle) lose no acknowledged task")
    func powerCutOfFreshRoots() async throws {
        let dir = ScratchDirectory()
        let r = try await SpoolProcess.run(["drill", "--dir", dir.path, "--faults", "powercut", "--cycles", "8", "--epoch-cycles", "1",
                                            "--kill-ms", "20", "--seed", "11", "--json"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let report = try #require(try Self.reports(r.stdout)["powercut"])
        #expect((report["acknowledged_enqueues"] as? Int ?? 0) > 0, "\(report)")
        for field in ["lost", "redelivered_after_ack", "phantoms", "violations"] {
            #expect(report[field] as? Int == 0, "\(field): \(report)")
        }
    }

    @Test("planted symlinks and FIFOs, and damaged group state, are refused naming a file or lose and redeliver nothing; nothing hangs")
    func plantAndGroupStateFaults() async throws {
        let dir = ScratchDirectory()
        let r = try await SpoolProcess.run(["drill", "--dir", dir.path, "--faults", "plant,groupstate", "--cycles", "4", "--injections", "4",
                                            "--seed", "2", "--json"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let reports = try Self.reports(r.stdout)
        for fault in ["plant", "groupstate"] {
            let report = try #require(reports[fault], "no report for \(fault): \(r.stdout)")
            #expect((report["corruptions_injected"] as? Int ?? 0) > 0, "\(fault): nothing injected: \(report)")
            for field in ["lost", "redelivered_after_ack", "phantoms", "violations"] {
                #expect(report[field] as? Int == 0, "\(fault) \(field): \(report)")
            }
        }
        #expect((reports["plant"]?["refused"] as? Int ?? 0) > 0, "no planted file was refused: \(r.stdout)")
    }

    @Test("a power cut under durability never loses acknowledged tasks, and the drill says so with exit code 1 and the seed")
    func drillCatchesLoss() async throws {
        let dir = ScratchDirectory()
        let r = try await SpoolProcess.run(["drill", "--dir", dir.path, "--faults", "powercut", "--cycles", "3", "--seed", "7",
                                      "--durability", "never", "--json"])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let report = try #require(try Self.reports(r.stdout)["powercut"])
        #expect((report["lost"] as? Int ?? 0) > 0, "\(report)")
        #expect(r.stderr.contains("--seed 7"), "\(r.stderr)")
    }

    @Test("corruption of synced data is reported with its file and position, and nothing is silently lost")
    func corruptionIsReported() async throws {
        let dir = ScratchDirectory()
        let r = try await SpoolProcess.run(["drill", "--dir", dir.path, "--faults", "bitflip,truncate,zero,garbage", "--cycles", "2",
                                      "--injections", "4", "--seed", "3", "--json"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let reports = try Self.reports(r.stdout)
        var synced = 0
        for fault in ["bitflip", "truncate", "zero", "garbage"] {
            let report = try #require(reports[fault])
            #expect((report["corruptions_injected"] as? Int ?? 0) > 0, "\(fault): nothing injected")
            let injected = report["synced_corruptions_injected"] as? Int ?? -1
            let detected = report["synced_corruptions_detected"] as? Int ?? -1
            let harmless = report["synced_corruptions_undetected_harmless"] as? Int ?? -1
            #expect(detected + harmless == injected, "\(fault): \(report)")
            #expect(report["violations"] as? Int == 0, "\(fault): \(report)")
            synced += injected
        }
        #expect(synced > 0)
    }

    @Test("the compact fault and unknown faults are refused with exit code 2 and a reason")
    func refusedFaults() async throws {
        let dir = ScratchDirectory()
        var r = try await SpoolProcess.run(["drill", "--dir", dir.path, "--faults", "compact"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("compactor"), "\(r.stderr)")
        r = try await SpoolProcess.run(["drill", "--dir", dir.path, "--faults", "kill,meteor"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown fault \"meteor\""), "\(r.stderr)")
    }
}
