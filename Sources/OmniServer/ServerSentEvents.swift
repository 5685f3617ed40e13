import OmniServerAPI
import Foundation
import Hummingbird

/// Responses in the server's formats: JSON bodies, OpenAI error objects, server-sent events.
enum HTTPResponses {
    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONCoding.encoder.encode(value)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ e: APIError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let r = e.retryAfterSeconds { headers[.retryAfter] = String(r) }
        return Response(status: .init(code: e.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: e.json)))
    }
}

/// Server-sent events as OpenAI streams them: `data: <json>\n\n` per chunk, `data: [DONE]\n\n` at the end.
enum ServerSentEvents {
    static let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]

    static func event<T: Encodable>(_ value: T) -> ByteBuffer {
        var b = ByteBuffer(string: "data: ")
        b.writeBytes((try? JSONCoding.encoder.encode(value)) ?? Data("{}".utf8))
        b.writeString("\n\n")
        return b
    }

    /// An error after the stream began: OpenAI's error object as an event.
    static func error(_ e: APIError) -> ByteBuffer {
        var b = ByteBuffer(string: "data: ")
        b.writeBytes(e.json)
        b.writeString("\n\n")
        return b
    }

    static let done = ByteBuffer(string: "data: [DONE]\n\n")
}
