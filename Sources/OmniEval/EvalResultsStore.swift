import Foundation

/// What a results folder was made from (`run.json`): a resumed run and the shards a merge joins must agree on it.
public struct EvalManifest: Sendable, Equatable, Codable {
    public var data: String
    /// FNV-1a digest of the benchmark file's bytes.
    public var dataDigest: String
    public var model: String
    public var selector: String?
    public var maxNewTokens: Int
    public var methods: [String]
    public var keeps: [Double]
    public var shard: EvalShard
    public var limit: Int?
    /// How `omnisift` was configured besides its selector ("audio-fallback=keep-all", "stvp=spatial"); nil = as
    /// published.
    public var omnisiftVariant: String?

    public init(data: String, dataDigest: String, model: String, selector: String?, maxNewTokens: Int,
                methods: [String], keeps: [Double], shard: EvalShard, limit: Int?) {
        self.data = data
        self.dataDigest = dataDigest
        self.model = model
        self.selector = selector
        self.maxNewTokens = maxNewTokens
        self.methods = methods
        self.keeps = keeps
        self.shard = shard
        self.limit = limit
    }

    enum CodingKeys: String, CodingKey {
        case data, model, selector, methods, keeps, shard, limit
        case dataDigest = "data_digest"
        case maxNewTokens = "max_new_tokens"
        case omnisiftVariant = "omnisift_variant"
    }

    /// The differences that make results of `other` not comparable with this run's (empty: compatible). Methods,
    /// keeps and limit may differ (a resumed run may add configurations or items).
    public func incompatibilities(with other: EvalManifest, sameShard: Bool) -> [String] {
        var out: [String] = []
        if dataDigest != other.dataDigest { out.append("the benchmark data differs (\(other.data) vs \(data))") }
        if model != other.model { out.append("--model differs (\(other.model) vs \(model))") }
        if selector != other.selector { out.append("--selector differs (\(other.selector ?? "none") vs \(selector ?? "none"))") }
        if omnisiftVariant != other.omnisiftVariant {
            out.append("the omnisift variant differs (\(other.omnisiftVariant ?? "as published") vs \(omnisiftVariant ?? "as published"))")
        }
        if maxNewTokens != other.maxNewTokens {
            out.append("--max-new-tokens differs (\(other.maxNewTokens) vs \(maxNewTokens))")
        }
        if sameShard && shard != other.shard { out.append("--shard differs (\(other.shard) vs \(shard))") }
        if !sameShard && shard.count != other.shard.count {
            out.append("the shard count differs (\(other.shard) vs \(shard))")
        }
        return out
    }
}

/// A results folder: `run.json`, `items.jsonl` (one `EvalRecord` per line, appended and flushed as each is
/// made, so an interrupted run loses at most the item in flight), `errors.jsonl` (one `EvalIssue` per line) and
/// `summary.json`.
public final class EvalResultsStore {
    public static let manifestName = "run.json"
    public static let itemsName = "items.jsonl"
    public static let errorsName = "errors.jsonl"
    public static let summaryName = "summary.json"

    public let directory: String
    public let manifest: EvalManifest
    public private(set) var records: [EvalRecord]
    public private(set) var issues: [EvalIssue]
    private var doneKeys: Set<String>
    private var issueKeys: Set<String>
    private let itemsHandle: FileHandle
    private let errorsHandle: FileHandle

    /// The checks `init` makes, without writing anything: call before loading a model so that a folder in use
    /// fails the run at once. Returns the results a resumed run continues from.
    @discardableResult
    public static func preflight(directory: String, manifest: EvalManifest, resume: Bool)
        throws -> (records: [EvalRecord], issues: [EvalIssue], hasResults: Bool)
    {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: directory)
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: directory, isDirectory: &isDir), !isDir.boolValue {
            throw EvalSetupError("-o \(directory) is a file; the results go into a folder")
        }
        let hasResults = fm.fileExists(atPath: url.appendingPathComponent(itemsName).path)
            || fm.fileExists(atPath: url.appendingPathComponent(manifestName).path)
        guard hasResults else { return ([], [], false) }
        guard resume else {
            throw EvalSetupError("-o \(directory) already holds results (\(manifestName), \(itemsName)); "
                                 + "pass --resume to continue that run, or choose another folder")
        }
        let loaded = try load(directory: directory, repair: false)
        let problems = manifest.incompatibilities(with: loaded.manifest, sameShard: true)
        if !problems.isEmpty {
            throw EvalSetupError("--resume: \(directory) was made by a different run: " + problems.joined(separator: "; "))
        }
        return (loaded.records, loaded.issues, true)
    }

    /// Opens `directory` for a run. A folder that already holds results needs `resume` and a compatible
    /// `run.json`; a fresh one is created. Throws `EvalSetupError` (before any item runs).
    public init(directory: String, manifest: EvalManifest, resume: Bool) throws {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: directory)
        let itemsPath = url.appendingPathComponent(Self.itemsName).path
        let manifestPath = url.appendingPathComponent(Self.manifestName).path
        let (_, _, hasResults) = try Self.preflight(directory: directory, manifest: manifest, resume: resume)
        var records: [EvalRecord] = []
        var issues: [EvalIssue] = []
        if hasResults {
            let loaded = try Self.load(directory: directory, repair: true)
            records = loaded.records
            issues = loaded.issues
        }
        do {
            try fm.createDirectory(at: url, withIntermediateDirectories: true)
            var m = manifest
            if hasResults, let old = try? Self.readManifest(directory: directory) {
                // Keep every configuration any session of this run asked for.
                for x in old.methods where !m.methods.contains(x) { m.methods.append(x) }
                for k in old.keeps where !m.keeps.contains(where: { EvalRunKey.keepLabel($0) == EvalRunKey.keepLabel(k) }) {
                    m.keeps.append(k)
                }
            }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try enc.encode(m).write(to: URL(fileURLWithPath: manifestPath), options: .atomic)
            self.manifest = m
            for name in [Self.itemsName, Self.errorsName] {
                let p = url.appendingPathComponent(name).path
                if !fm.fileExists(atPath: p) { _ = fm.createFile(atPath: p, contents: nil) }
            }
            itemsHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: itemsPath))
            errorsHandle = try FileHandle(forWritingTo: url.appendingPathComponent(Self.errorsName))
            try itemsHandle.seekToEnd()
            try errorsHandle.seekToEnd()
        } catch let e as EvalSetupError {
            throw e
        } catch {
            throw EvalSetupError("-o \(directory): cannot write the results there: \(error.localizedDescription)")
        }
        self.directory = directory
        self.records = records
        self.issues = issues
        doneKeys = Set(records.map(\.doneKey))
        issueKeys = Set(issues.map(\.dedupKey))
    }

    deinit {
        try? itemsHandle.close()
        try? errorsHandle.close()
    }

    public func isDone(item: String, key: EvalRunKey) -> Bool { doneKeys.contains("\(item)\t\(key.label)") }

    /// Appends one result line and flushes it to disk.
    public func append(_ record: EvalRecord) throws {
        guard !doneKeys.contains(record.doneKey) else { return }
        try Self.appendLine(record, to: itemsHandle)
        records.append(record)
        doneKeys.insert(record.doneKey)
    }

    /// Appends one problem (once per item, method, ratio and kind across resumed sessions).
    public func append(_ issue: EvalIssue) throws {
        guard !issueKeys.contains(issue.dedupKey) else { return }
        try Self.appendLine(issue, to: errorsHandle)
        issues.append(issue)
        issueKeys.insert(issue.dedupKey)
    }

    /// One JSON line, written in one call and flushed to disk.
    static func appendLine<T: Encodable>(_ value: T, to handle: FileHandle) throws {
        var line = try JSONEncoder.jsonLine.encode(value)
        line.append(0x0A)
        try handle.write(contentsOf: line)
        try handle.synchronize()
    }

    public func writeSummary(_ summary: EvalSummary) throws {
        try Self.writeSummary(summary, directory: directory)
    }

    public static func writeSummary(_ summary: EvalSummary, directory: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try enc.encode(summary).write(to: URL(fileURLWithPath: directory).appendingPathComponent(summaryName),
                                      options: .atomic)
    }

    // MARK: - Reading a results folder

    public static func readManifest(directory: String) throws -> EvalManifest {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(manifestName).path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EvalSetupError("\(directory): no \(manifestName); not an `omnisift eval` results folder")
        }
        do { return try JSONDecoder().decode(EvalManifest.self, from: data) } catch {
            throw EvalSetupError("\(path): not a valid run manifest: \(error)")
        }
    }

    /// Reads a results folder. A last line cut short (the process was killed while writing it) is dropped, and
    /// with `repair` cut from the file; any other unreadable line is an error naming it.
    public static func load(directory: String, repair: Bool = false)
        throws -> (manifest: EvalManifest, records: [EvalRecord], issues: [EvalIssue])
    {
        let manifest = try readManifest(directory: directory)
        let records: [EvalRecord] = try readLines(directory: directory, name: itemsName, repair: repair)
        let issues: [EvalIssue] = try readLines(directory: directory, name: errorsName, repair: repair)
        return (manifest, records, issues)
    }

    static func readLines<T: Decodable>(directory: String, name: String, repair: Bool) throws -> [T] {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let bytes = [UInt8](data)
        var out: [T] = []
        var start = 0, lineNo = 0
        let decoder = JSONDecoder()
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            lineNo += 1
            let complete = end < bytes.count
            let slice = Data(bytes[start..<end])
            if !slice.isEmpty {
                do {
                    out.append(try decoder.decode(T.self, from: slice))
                    if !complete && repair {
                        // A whole last record without its newline: finish the line.
                        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                        try h.seekToEnd()
                        try h.write(contentsOf: Data([0x0A]))
                        try h.close()
                    }
                } catch {
                    guard !complete else {
                        throw EvalSetupError("\(path) line \(lineNo) is not a result line (\(error)); the folder is damaged")
                    }
                    // The line in flight when the run stopped: drop it.
                    if repair {
                        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                        try h.truncate(atOffset: UInt64(start))
                        try h.close()
                    }
                }
            }
            start = end + 1
        }
        return out
    }
}
