import ArgumentParser
import Foundation
import SafeTensors

/// `omnisift inspect PATH`: the tensors, metadata and totals of a `.safetensors` file or a sharded checkpoint.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors (name, dtype, shape, size) and metadata of a .safetensors file or checkpoint.",
        discussion: """
        PATH is a .safetensors file, a model.safetensors.index.json, or a folder holding either (sharded \
        checkpoints are read through the index; only the shards it names are opened). The file is memory-mapped \
        and fully validated; a malformed file is reported as "error: <file>: <problem>" with exit status 1.

        Checkpoints with more than \(InspectCommand.groupThreshold) tensors are summarised by key prefix \
        (e.g. thinker.model.layers.* with its tensor count, dtypes, parameters and bytes) unless --all is given. \
        --json always lists every tensor, plus the groups when grouping applies.
        """
    )

    /// Above this many tensors the listing is grouped by prefix unless `--all`.
    static let groupThreshold = 60
    static let defaultDepth = 3

    @Argument(help: "A .safetensors file, a model.safetensors.index.json, or a folder holding either.")
    var path: String

    @Flag(help: "Print one JSON object (path, files, metadata, totals, tensors, groups) instead of tables.")
    var json = false

    @Option(name: .customLong("group-depth"),
            help: "Group names by their first N dot-separated parts, a layer index becoming '*' (default \(InspectCommand.defaultDepth); giving it forces grouping).")
    var groupDepth: Int?

    @Flag(help: "List every tensor, even for big checkpoints.")
    var all = false

    func validate() throws {
        if let d = groupDepth, d < 1 { throw ValidationError("--group-depth must be at least 1, got \(d)") }
        if all && groupDepth != nil { throw ValidationError("--all and --group-depth cannot be combined") }
    }

    func run() throws {
        let checkpoint: SafeTensorsCheckpoint
        do {
            checkpoint = try SafeTensorsCheckpoint(path: path)
        } catch let e as SafeTensorsError {
            printError("\(e.file): \(e.problem)")
            throw ExitCode(1)
        } catch {
            printError("\(path): \(error)")
            throw ExitCode(1)
        }
        let entries = checkpoint.entries  // sorted by name
        let grouped = !all && (groupDepth != nil || entries.count > Self.groupThreshold)
        let depth = groupDepth ?? Self.defaultDepth
        let groups = grouped ? TensorGroup.group(entries, depth: depth) : nil
        if json {
            print(try jsonReport(checkpoint, entries, groups, depth: depth))
        } else {
            print(textReport(checkpoint, entries, groups, depth: depth))
        }
    }

    private func printError(_ message: String) {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    }

    // MARK: text

    private func textReport(_ c: SafeTensorsCheckpoint, _ entries: [TensorEntry], _ groups: [TensorGroup]?,
                            depth: Int) -> String {
        var out: [String] = []
        if let index = c.indexPath {
            out.append("checkpoint: \(index) (\(c.files.count) shard\(c.files.count == 1 ? "" : "s"))")
        } else {
            out.append("file: \(c.files[0].path)")
        }
        if !c.metadata.isEmpty {
            out.append("")
            var t = TextTable(columns: ["metadata", "value"])
            for k in c.metadata.keys.sorted() { t.addRow(k, Self.shortened(c.metadata[k]!)) }
            out.append(t.render())
        }
        out.append("")
        if let groups {
            var t = TextTable(columns: [TextTable.Column("group (depth \(depth))"), "tensors",
                                        TextTable.Column("dtypes", alignment: .left),
                                        TextTable.Column("parameters", alignment: .right),
                                        TextTable.Column("size", alignment: .right)])
            for g in groups {
                t.addRow(g.key, "\(g.count)", g.dtypes.map(\.rawValue).joined(separator: ","),
                         ByteCount.count(g.parameters), ByteCount.format(g.bytes))
            }
            out.append(t.render())
            out.append("(\(entries.count) tensors in \(groups.count) groups; --all lists every tensor)")
        } else {
            let sharded = c.files.count > 1
            var columns: [TextTable.Column] = ["name", TextTable.Column("dtype", alignment: .left),
                                               TextTable.Column("shape", alignment: .left),
                                               TextTable.Column("parameters", alignment: .right),
                                               TextTable.Column("size", alignment: .right)]
            if sharded { columns.append(TextTable.Column("shard", alignment: .left)) }
            var t = TextTable(columns: columns)
            for e in entries {
                var row = [e.name, e.dtype.rawValue, Self.shapeText(e.shape), ByteCount.count(e.elementCount),
                           ByteCount.format(e.byteCount)]
                if sharded {
                    row.append(c.file(containing: e.name).map { Self.baseName($0.path) } ?? "?")
                }
                t.addRow(row)
            }
            out.append(entries.isEmpty ? "(no tensors)" : t.render())
        }
        let totals = Totals(entries)
        out.append("")
        out.append("total: \(totals.tensors) tensors, \(ByteCount.count(totals.parameters)) parameters "
            + "(\(totals.parameters)), \(ByteCount.format(totals.bytes)) (\(totals.bytes) bytes); "
            + totals.byDType.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        return out.joined(separator: "\n")
    }

    // MARK: JSON

    private struct Totals: Encodable {
        var tensors = 0
        var parameters = 0
        var bytes = 0
        /// Tensor count per dtype, in dtype declaration order.
        var byDType: [(key: String, value: Int)] = []

        init(_ entries: [TensorEntry]) {
            tensors = entries.count
            var counts: [SafeTensorsDType: Int] = [:]
            for e in entries {
                parameters += e.elementCount
                bytes += e.byteCount
                counts[e.dtype, default: 0] += 1
            }
            byDType = SafeTensorsDType.allCases.compactMap { d in counts[d].map { (d.rawValue, $0) } }
        }

        enum CodingKeys: String, CodingKey { case tensors, parameters, bytes, dtypes }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(tensors, forKey: .tensors)
            try c.encode(parameters, forKey: .parameters)
            try c.encode(bytes, forKey: .bytes)
            try c.encode(Dictionary(uniqueKeysWithValues: byDType.map { ($0.key, $0.value) }), forKey: .dtypes)
        }
    }

    private struct TensorJSON: Encodable {
        var name: String
        var dtype: String
        var shape: [Int]
        var parameters: Int
        var bytes: Int
        var file: String
    }

    private struct GroupJSON: Encodable {
        var key: String
        var tensors: Int
        var dtypes: [String]
        var parameters: Int
        var bytes: Int
    }

    private struct Report: Encodable {
        var path: String
        var index: String?
        var files: [String]
        var metadata: [String: String]
        var totals: Totals
        var groupDepth: Int?
        var groups: [GroupJSON]?
        var tensors: [TensorJSON]
    }

    private func jsonReport(_ c: SafeTensorsCheckpoint, _ entries: [TensorEntry], _ groups: [TensorGroup]?,
                            depth: Int) throws -> String {
        let report = Report(
            path: path, index: c.indexPath, files: c.files.map(\.path), metadata: c.metadata,
            totals: Totals(entries), groupDepth: groups == nil ? nil : depth,
            groups: groups?.map {
                GroupJSON(key: $0.key, tensors: $0.count, dtypes: $0.dtypes.map(\.rawValue),
                          parameters: $0.parameters, bytes: $0.bytes)
            },
            tensors: entries.map { e in
                TensorJSON(name: e.name, dtype: e.dtype.rawValue, shape: e.shape, parameters: e.elementCount,
                           bytes: e.byteCount, file: c.file(containing: e.name).map { Self.baseName($0.path) } ?? "")
            })
        return try JSONOutput.string(report, compact: true)
    }

    // MARK: formatting

    static func shapeText(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }

    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// Metadata values can be long (configs as JSON); the table shows the start and the length.
    static func shortened(_ s: String) -> String {
        let oneLine = s.replacingOccurrences(of: "\n", with: " ")
        return oneLine.count <= 100 ? oneLine : String(oneLine.prefix(97)) + "... (\(s.count) chars)"
    }
}
