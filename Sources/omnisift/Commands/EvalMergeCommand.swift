import ArgumentParser
import Foundation
import OmniEval

/// `omnisift eval-merge DIR...`: the shards of one `omnisift eval` run -> one summary.
struct EvalMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-merge",
        abstract: "Merge the results folders of `omnisift eval --shard i/n` runs into one summary.",
        discussion: """
            Each DIR is a RESULTS_DIR of `omnisift eval`. They must come from the same benchmark file (same bytes), \
            model, selector, --max-new-tokens and shard count, each a different shard; a missing shard is reported \
            (the summary then covers the shards given). Rows are joined by (item, method, ratio). With -o OUT the \
            merged items.jsonl, errors.jsonl, run.json and summary.json are written there.
            """
    )

    @Argument(help: "Results folders of the shards.")
    var directories: [String]

    @Option(name: [.short, .customLong("output")], help: "Folder for the merged results (optional).")
    var output: String?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    @Option(help: "Draw accuracy vs retained % and time to first token per method to PATH.png.")
    var chart: String?

    func validate() throws {
        if directories.isEmpty { throw ValidationError("give at least one results folder") }
        if let chart, (chart as NSString).pathExtension.lowercased() != "png" {
            throw ValidationError("--chart \(chart): give a file name ending in .png")
        }
    }

    func run() throws {
        let merged = try EvalMerge.merge(directories: directories)
        for w in merged.warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
        if let output { try EvalMerge.write(merged, to: output) }
        if let chart { try EvalReportView.writeChart(merged.summary, to: chart) }
        if json {
            try JSONOutput.print(merged.summary)
        } else {
            print(EvalReportView.render(merged.summary))
            if let output { print("merged \(directories.count) folders into \(output)") }
        }
    }
}
