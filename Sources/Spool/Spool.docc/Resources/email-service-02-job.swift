import Spool

/// The job's parameters: any `Codable & Sendable` type.
struct Email: Codable, Sendable {
    var to: String
    var subject: String
}
