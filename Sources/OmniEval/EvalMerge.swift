import Foundation

/// Joins the results folders of the shards of one run (`omnisift eval-merge`).
public enum EvalMerge {
    public struct Merged {
        public let manifest: EvalManifest
        public let records: [EvalRecord]
        public let issues: [EvalIssue]
        public let summary: EvalSummary
        /// Missing shards, rows found twice.
        public let warnings: [String]
    }

    public static func merge(directories: [String]) throws -> Merged {
        guard let first = directories.first else { throw EvalSetupError("eval-merge: no results folder given") }
        var manifest: EvalManifest?
        var shards: [EvalShard] = []
        var records: [EvalRecord] = []
        var issues: [EvalIssue] = []
        var seen: [String: String] = [:]
        var warnings: [String] = []
        for dir in directories {
            let (m, rs, es) = try EvalResultsStore.load(directory: dir)
            if let base = manifest {
                let problems = base.incompatibilities(with: m, sameShard: false)
                if !problems.isEmpty {
                    throw EvalSetupError("eval-merge: \(dir) is not a shard of the run in \(first): " + problems.joined(separator: "; "))
                }
                if shards.contains(m.shard) {
                    throw EvalSetupError("eval-merge: \(dir) holds shard \(m.shard) a second time")
                }
                // Keep every configuration any shard ran.
                var b = base
                for x in m.methods where !b.methods.contains(x) { b.methods.append(x) }
                for k in m.keeps where !b.keeps.contains(where: { EvalRunKey.keepLabel($0) == EvalRunKey.keepLabel(k) }) {
                    b.keeps.append(k)
                }
                manifest = b
            } else {
                manifest = m
            }
            shards.append(m.shard)
            for r in rs {
                if let other = seen[r.doneKey] {
                    warnings.append("\(r.item) \(r.runKey.label) is in both \(other) and \(dir); the first is kept")
                    continue
                }
                seen[r.doneKey] = dir
                records.append(r)
            }
            issues.append(contentsOf: es)
        }
        var m = manifest!
        let count = m.shard.count
        let missing = (0..<count).filter { i in !shards.contains { $0.index == i } }
        if !missing.isEmpty {
            warnings.append("shards \(missing.map { "\($0)/\(count)" }.joined(separator: ", ")) are missing; the summary covers \(shards.count) of \(count)")
        }
        m.shard = .whole
        records.sort { ($0.line, $0.method, -$0.keep) < ($1.line, $1.method, -$1.keep) }
        let summary = EvalSummary(manifest: m, records: records, issues: issues,
                                  order: EvalRunKey.grid(methods: m.methods, keeps: m.keeps),
                                  shards: shards.sorted { $0.index < $1.index })
        return Merged(manifest: m, records: records, issues: issues, summary: summary, warnings: warnings)
    }

    /// Writes the merged folder (a fresh folder; refuses one that holds results).
    public static func write(_ merged: Merged, to directory: String) throws {
        let store = try EvalResultsStore(directory: directory, manifest: merged.manifest, resume: false)
        for r in merged.records { try store.append(r) }
        for i in merged.issues { try store.append(i) }
        try store.writeSummary(merged.summary)
    }
}
