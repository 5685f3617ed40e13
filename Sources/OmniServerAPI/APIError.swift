import Foundation

/// An error answered in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with its HTTP status
/// (and `Retry-After` seconds for a full queue).
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    public var retryAfterSeconds: Int?

    public init(status: Int, message: String, type: String, param: String? = nil, code: String? = nil,
                retryAfterSeconds: Int? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(status) \(type): \(message)" }

    /// 400: the request cannot be served as sent.
    public static func invalid(_ message: String, param: String? = nil, code: String = "invalid_request") -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    public static let unauthorized = APIError(
        status: 401, message: "missing or wrong API key: send the header 'Authorization: Bearer <key>'",
        type: "authentication_error", code: "invalid_api_key")

    public static func tooLarge(limitBytes: Int) -> APIError {
        APIError(status: 413, message: "the request body is larger than the server's limit of \(limitBytes) bytes (--max-body-mb)",
                 type: "invalid_request_error", code: "request_too_large")
    }

    public static func queueFull(capacity: Int, retryAfter: Int) -> APIError {
        APIError(status: 429, message: "the server is busy: \(capacity) requests are already waiting (--max-queue); retry after \(retryAfter) s",
                 type: "rate_limit_error", code: "queue_full", retryAfterSeconds: retryAfter)
    }

    public static func unavailable(_ message: String, code: String) -> APIError {
        APIError(status: 503, message: message, type: "server_error", code: code, retryAfterSeconds: code == "loading" ? 1 : nil)
    }

    public static func timeout(seconds: Double) -> APIError {
        APIError(status: 504, message: "the request ran past the server's per-request timeout of \(Self.format(seconds)) s (--request-timeout)",
                 type: "server_error", code: "timeout")
    }

    public static func `internal`(_ message: String) -> APIError {
        APIError(status: 500, message: message, type: "server_error", code: "internal_error")
    }

    public static func format(_ s: Double) -> String {
        s == s.rounded() ? String(Int(s)) : String(format: "%.3g", s)
    }

    struct Body: Encodable {
        var error: Inner
        struct Inner: Encodable {
            var message: String
            var type: String
            var param: String?
            var code: String?
            enum CodingKeys: String, CodingKey { case message, type, param, code }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(message, forKey: .message)
                try c.encode(type, forKey: .type)
                try c.encode(param, forKey: .param)   // explicit nulls, as OpenAI sends them
                try c.encode(code, forKey: .code)
            }
        }
        enum CodingKeys: String, CodingKey { case error }
    }

    /// The JSON body.
    public var json: Data {
        let body = Body(error: .init(message: message, type: type, param: param, code: code))
        return (try? JSONCoding.encoder.encode(body)) ?? Data("{\"error\":{\"message\":\"internal\"}}".utf8)
    }
}

/// The server's JSON encoder: sorted keys (stable output), no escaped slashes.
public enum JSONCoding {
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
