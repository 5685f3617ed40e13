import OmniServerAPI
import Hummingbird

/// `--api-key`: every path but /health needs `Authorization: Bearer <key>`; otherwise 401 with the error object.
/// The key is compared in time independent of where the first difference is.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: [UInt8]

    init(key: String) { self.key = Array(key.utf8) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/health" { return try await next(request, context) }
        if let header = request.headers[.authorization], header.hasPrefix("Bearer "),
           ConstantTime.equal(Array(header.utf8.dropFirst(7)), key) {
            return try await next(request, context)
        }
        var response = HTTPResponses.error(.unauthorized)
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }
}

/// Comparison whose time does not depend on where the inputs differ.
enum ConstantTime {
    /// Equal bytes, looking at every byte of the longer input whatever the contents (only the lengths leak).
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count) | UInt8(a.count == b.count ? 0 : 1)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= x ^ y
        }
        return diff == 0
    }
}
