/// Checks queue names so that a name can never escape the root: 1 to 200 bytes of
/// letters, digits, '.', '-' and '_', not "." or "..", not starting with '.'.
public enum QueueName {
    public static let bytesMax = 200

    /// - Throws: `.invalidArgument` saying what is wrong with the name.
    public static func validate(_ name: String) throws {
        let bytes = Array(name.utf8)
        func reject(_ why: String) -> SpoolError {
            SpoolError(.invalidArgument, "invalid queue name \"\(name.debugDescription.dropFirst().dropLast())\": \(why)",
                       hint: "use 1-\(bytesMax) letters, digits, '.', '-' or '_', not starting with '.'")
        }
        if bytes.isEmpty { throw reject("it is empty") }
        if bytes.count > bytesMax { throw reject("it is \(bytes.count) bytes, the limit is \(bytesMax)") }
        if bytes.contains(0) { throw reject("it contains a NUL byte") }
        if bytes.contains(UInt8(ascii: "/")) { throw reject("it contains '/'") }
        if bytes[0] == UInt8(ascii: ".") { throw reject("it starts with '.'") }
        let allowed = bytes.allSatisfy { b in
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 45 || b == 46 || b == 95
        }
        if !allowed { throw reject("it contains a character other than letters, digits, '.', '-', '_'") }
    }
}
