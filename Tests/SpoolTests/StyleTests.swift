import Foundation
import Testing

/// Issue 15: the style rules that a reader relies on, checked on the sources themselves.
/// Generated code (`Sources/SpoolKafkaProtocol/Generated`, made by Tools/kafka-codegen) and the
/// DocC tutorial's code files are left out: they are not written by hand here.
@Suite("style of the sources")
struct StyleTests {
    /// Columns a line may take. A line that is one string literal (it may open with `+`, `?` or
    /// `:` of the expression it continues) may run past it: a message is not cut mid-sentence.
    static let lineColumnsMax = 120
    /// Lines a function (or initializer) may take, from its signature to its closing brace, in
    /// the layout swift-format gives it (`.swift-format`: one argument list per line when it
    /// does not fit).
    static let functionLinesMax = 100

    static let repository: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every hand-written Swift file under `Sources/<target>`, as (path relative to the
    /// repository, lines).
    static func sources(under folder: String = "Sources") -> [(String, [Substring])] {
        let root = repository.appendingPathComponent(folder)
        guard let walk = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var files: [(String, [Substring])] = []
        for case let relative as String in walk where relative.hasSuffix(".swift") {
            if relative.contains("/Generated/") || relative.contains(".docc/") { continue }
            guard let text = try? String(contentsOfFile: root.appendingPathComponent(relative).path, encoding: .utf8) else { continue }
            files.append((folder + "/" + relative, text.split(separator: "\n", omittingEmptySubsequences: false)))
        }
        return files.sorted { $0.0 < $1.0 }
    }

    @Test("no source line is wider than the limit")
    func lineWidth() {
        var wide: [String] = []
        for (path, lines) in Self.sources() {
            for (i, line) in lines.enumerated() where line.count > Self.lineColumnsMax && !Self.isStringLiteralLine(line) {
                wide.append("\(path):\(i + 1): \(line.count) columns")
            }
        }
        #expect(wide.isEmpty, "\(wide.count) lines wider than \(Self.lineColumnsMax) columns:\n\(wide.prefix(40).joined(separator: "\n"))")
    }

    /// Whether `line` is one string literal, possibly continuing an expression (`+ "…"`).
    static func isStringLiteralLine(_ line: Substring) -> Bool {
        line.range(of: #"^\s*(\+ |\? |: )?".*"[,)]*( \+)?\s*$"#, options: .regularExpression) != nil
    }

    @Test("no function is longer than the limit, so each one reads at once")
    func functionLength() {
        var long: [String] = []
        for (path, lines) in Self.sources() {
            for (start, count) in Self.functions(in: lines) where count > Self.functionLinesMax {
                long.append("\(path):\(start + 1): \(count) lines")
            }
        }
        #expect(long.isEmpty, "functions longer than \(Self.functionLinesMax) lines:\n\(long.joined(separator: "\n"))")
    }

    /// (first line, line count) of each `func` or `init` body: from the declaration to the
    /// brace that closes it, counting braces outside string literals and comments.
    static func functions(in lines: [Substring]) -> [(Int, Int)] {
        var found: [(Int, Int)] = []
        for (i, line) in lines.enumerated() where isDeclaration(line) {
            var depth = 0, opened = false
            for j in i..<min(lines.count, i + 2_000) {
                let code = stripped(lines[j])
                depth += code.filter { $0 == "{" }.count - code.filter { $0 == "}" }.count
                if code.contains("{") { opened = true }
                if opened && depth <= 0 { found.append((i, j - i + 1)); break }
                if !opened && j > i + 8 { break }  // a protocol requirement: no body
            }
        }
        return found
    }

    static func isDeclaration(_ line: Substring) -> Bool {
        let code = line.trimmingCharacters(in: .whitespaces)
        if code.hasPrefix("//") { return false }
        return code.range(of: #"(^|\s)(func\s|init[?(<])"#, options: .regularExpression) != nil && !code.hasPrefix("\"")
    }

    /// The line without string literals and a trailing `//` comment.
    static func stripped(_ line: Substring) -> String {
        let noStrings = String(line).replacingOccurrences(of: #""(\\.|[^"\\])*""#, with: "\"\"", options: .regularExpression)
        return noStrings.components(separatedBy: "//").first ?? noStrings
    }

    @Test("every FORMAT.md section the code points to exists")
    func formatLinksResolve() throws {
        let format = try String(contentsOf: Self.repository.appendingPathComponent("Sources/SpoolFormat/FORMAT.md"), encoding: .utf8)
        let headings = Set(format.split(separator: "\n").filter { $0.hasPrefix("#") }.map {
            String($0.drop { $0 == "#" }).trimmingCharacters(in: .whitespaces)
        })
        var missing: [String] = []
        for folder in ["Sources", "Tests"] {
            for (path, lines) in Self.sources(under: folder) {
                for (i, line) in lines.enumerated() {
                    for section in Self.formatReferences(in: String(line)) where !headings.contains(section) {
                        missing.append("\(path):\(i + 1): \"\(section)\"")
                    }
                }
            }
        }
        #expect(missing.isEmpty, "FORMAT.md has no section named:\n\(missing.joined(separator: "\n"))")
    }

    /// The section titles in FORMAT.md references: the name and a quoted title, with or without a comma.
    static func formatReferences(in line: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"FORMAT\.md,? "([^"]+)""#)
        return pattern.matches(in: line, range: NSRange(line.startIndex..., in: line)).compactMap {
            Range($0.range(at: 1), in: line).map { String(line[$0]) }
        }
    }

    @Test("no engine message names a flag of the spool command: the command maps the engine's words to its flags")
    func engineNamesNoCommandFlags() {
        var found: [String] = []
        for (path, lines) in Self.sources(under: "Sources/Spool") {
            for (i, line) in lines.enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") { continue }
                for literal in Self.stringLiterals(in: String(line)) where literal.range(of: #"(^|[\s`(])--[a-z]"#, options: .regularExpression) != nil {
                    found.append("\(path):\(i + 1): \(literal)")
                }
            }
        }
        #expect(found.isEmpty, "engine strings naming a command-line flag:\n\(found.joined(separator: "\n"))")
    }

    static func stringLiterals(in line: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #""((\\.|[^"\\])*)""#)
        return pattern.matches(in: line, range: NSRange(line.startIndex..., in: line)).compactMap {
            Range($0.range(at: 1), in: line).map { String(line[$0]) }
        }
    }

    @Test("the style checks see the sources: they find files, functions and FORMAT.md references")
    func checksSeeTheSources() {
        let files = Self.sources()
        #expect(files.count > 100, "found \(files.count) source files under \(Self.repository.path)")
        #expect(files.contains { $0.0 == "Sources/Spool/Log/LogWriter.swift" })
        let functions = files.reduce(0) { $0 + Self.functions(in: $1.1).count }
        #expect(functions > 500)
        #expect(Self.formatReferences(in: #"see (FORMAT.md, "Log start") and FORMAT.md "Group log""#) == ["Log start", "Group log"])
        #expect(Self.functions(in: ["func f() {", "  if x { y() }", "  let s = \"}\"", "}"]).map(\.1) == [4])
        #expect(Self.isStringLiteralLine("        + \"a long message \\(x) with \\\"quotes\\\"\","))
        #expect(!Self.isStringLiteralLine("        let x = f(a, b) + \"text\""))
    }
}
