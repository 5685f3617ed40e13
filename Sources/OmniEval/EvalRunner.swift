import Foundation
import OmniSIFT

/// What one answer produced, before it is decoded and scored.
public struct EvalAnswer: Sendable, Equatable {
    /// Generated ids, the stop token included when one ended the answer.
    public var tokens: [Int]
    /// The stop token that ended the answer, if any (not part of the text).
    public var stopToken: Int?
    public var before: ModalityCounts
    public var after: ModalityCounts
    public var retained: Double
    public var compressMs: Double
    public var prefillMs: Double
    public var decodeMs: Double

    public init(tokens: [Int], stopToken: Int?, before: ModalityCounts, after: ModalityCounts, retained: Double,
                compressMs: Double, prefillMs: Double, decodeMs: Double) {
        self.tokens = tokens
        self.stopToken = stopToken
        self.before = before
        self.after = after
        self.retained = retained
        self.compressMs = compressMs
        self.prefillMs = prefillMs
        self.decodeMs = decodeMs
    }

    /// The ids that make the answer's text (without the stop token).
    public var textTokens: [Int] { stopToken != nil && !tokens.isEmpty ? Array(tokens.dropLast()) : tokens }
}

/// How the harness gets an answer: the embeddings of an item are made ONCE (`prepare`), then every
/// method x ratio answers from them (`answer`). Errors thrown are reported per item (prepare) or per
/// configuration (answer); `EvalIssue`s keep their kind, anything else is filed as `generation`.
public protocol EvalAnswering {
    associatedtype Prepared
    /// Reads (or decodes and encodes) the item; returns the prepared input and what it cost: `read` and, for a
    /// media item, the media stages (compress, prefill and decode are zero: they belong to each answer).
    func prepare(_ item: EvalItem) throws -> (prepared: Prepared, times: EvalStageTimes)
    func answer(_ prepared: Prepared, item: EvalItem, key: EvalRunKey) throws -> EvalAnswer
}

/// Turns answer ids into text. Returning nil means "cannot decode" (no tokenizer, an id outside its
/// vocabulary): the row is written as `undecoded` and never scored.
public protocol AnswerTextDecoding: Sendable {
    func text(_ tokens: [Int]) -> String?
}

/// The decoder of a run without a tokenizer: every answer is `undecoded` (nothing is scored).
public struct NoTextDecoder: AnswerTextDecoding {
    public init() {}
    public func text(_ tokens: [Int]) -> String? { nil }
}

/// Running state of a run, for a progress bar.
public struct EvalProgress: Sendable, Equatable {
    /// (item, configuration) answers done in this session / to do in this session.
    public var done: Int
    public var total: Int
    /// Per method (over its ratios): scored rows and correct ones so far, resumed rows included.
    public var methods: [(method: String, correct: Int, scored: Int)]

    public static func == (a: EvalProgress, b: EvalProgress) -> Bool {
        a.done == b.done && a.total == b.total && a.methods.map { "\($0.method)\($0.correct)/\($0.scored)" }
            == b.methods.map { "\($0.method)\($0.correct)/\($0.scored)" }
    }

    /// "none 52.0% omnisift 50.1% ..." (a dash before anything was scored).
    public var accuracyText: String {
        methods.map { m in
            m.scored == 0 ? "\(m.method) -" : "\(m.method) " + String(format: "%.1f%%", 100 * Double(m.correct) / Double(m.scored))
        }.joined(separator: " ")
    }
}

/// What a session did.
public struct EvalRunOutcome: Sendable, Equatable {
    /// Rows written in this session.
    public var answered: Int
    /// Rows skipped because a previous session wrote them (`--resume`).
    public var skipped: Int
    /// Problems met in this session.
    public var issues: Int
    /// Whether `shouldStop` ended the session early.
    public var stopped: Bool
}

/// The evaluation loop: selects the items (`--limit`, then `--shard`), skips what the store already holds,
/// prepares each item once, answers every pending method x ratio, decodes and scores the answer, and appends the
/// row at once.
public struct EvalRunner<Answering: EvalAnswering> {
    public let answering: Answering
    public let decoder: any AnswerTextDecoding
    public let keys: [EvalRunKey]
    public let shard: EvalShard
    public let limit: Int?

    public init(answering: Answering, decoder: any AnswerTextDecoding, keys: [EvalRunKey], shard: EvalShard = .whole,
                limit: Int? = nil) {
        self.answering = answering
        self.decoder = decoder
        self.keys = keys
        self.shard = shard
        self.limit = limit
    }

    func selected(ordinal: Int) -> Bool { ordinal < (limit ?? Int.max) && shard.contains(ordinal: ordinal) }

    /// The items this run takes.
    public func items(of benchmark: BenchmarkFile) -> [EvalItem] { benchmark.items.filter { selected(ordinal: $0.ordinal) } }

    /// Runs the benchmark into `store`. `shouldStop` is asked before each answer (a stop lands between rows, so
    /// nothing is half-written). Only store write failures throw.
    public func run(benchmark: BenchmarkFile, store: EvalResultsStore,
                    progress: (EvalProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> EvalRunOutcome {
        var outcome = EvalRunOutcome(answered: 0, skipped: 0, issues: 0, stopped: false)
        for (ordinal, issue) in benchmark.issues where selected(ordinal: ordinal) {
            try store.append(issue)
            outcome.issues += 1
        }
        let items = self.items(of: benchmark)
        var pending: [(EvalItem, [EvalRunKey])] = []
        for item in items {
            let todo = keys.filter { !store.isDone(item: item.id, key: $0) }
            outcome.skipped += keys.count - todo.count
            if !todo.isEmpty { pending.append((item, todo)) }
        }
        var state = EvalProgress(done: 0, total: pending.reduce(0) { $0 + $1.1.count }, methods: [])
        var tally: [String: (Int, Int)] = [:]
        let methods = keys.map(\.method).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        for r in store.records where r.status == .scored && keys.contains(r.runKey) {
            let t = tally[r.method] ?? (0, 0)
            tally[r.method] = (t.0 + (r.correct == true ? 1 : 0), t.1 + 1)
        }
        func report() {
            state.methods = methods.map { ($0, tally[$0]?.0 ?? 0, tally[$0]?.1 ?? 0) }
            progress(state)
        }
        report()
        for (item, todo) in pending {
            if shouldStop() { outcome.stopped = true; break }
            let prepared: Answering.Prepared
            let readTimes: EvalStageTimes
            do {
                (prepared, readTimes) = try answering.prepare(item)
            } catch {
                try store.append(Self.issue(error, item: item, key: nil))
                outcome.issues += 1
                state.done += todo.count
                report()
                continue
            }
            for key in todo {
                if shouldStop() { outcome.stopped = true; break }
                defer { state.done += 1; report() }
                let answer: EvalAnswer
                do {
                    answer = try answering.answer(prepared, item: item, key: key)
                } catch {
                    try store.append(Self.issue(error, item: item, key: key))
                    outcome.issues += 1
                    continue
                }
                let record = score(answer, item: item, key: key, prepared: readTimes)
                try store.append(record)
                outcome.answered += 1
                if record.status == .scored {
                    let t = tally[key.method] ?? (0, 0)
                    tally[key.method] = (t.0 + (record.correct == true ? 1 : 0), t.1 + 1)
                }
            }
            if outcome.stopped { break }
        }
        return outcome
    }

    /// Decodes, parses and scores one answer; `prepared` holds the item's one-time stages (shared by its rows).
    public func score(_ a: EvalAnswer, item: EvalItem, key: EvalRunKey, prepared: EvalStageTimes) -> EvalRecord {
        var ms = prepared
        ms.compress = a.compressMs
        ms.prefill = a.prefillMs
        ms.decode = a.decodeMs
        let text = decoder.text(a.textTokens)
        let prediction = text.flatMap { AnswerParser.prediction($0, letters: item.letters) }
        return EvalRecord(
            item: item.id, line: item.line, task: item.task, method: key.method, keep: key.keep,
            answer: String(item.answer), prediction: prediction.map { String($0) }, rawAnswer: text,
            answerTokens: a.tokens, status: text == nil ? .undecoded : .scored,
            correct: text == nil ? nil : prediction == item.answer,
            tokensBefore: a.before, tokensAfter: a.after, retained: a.retained,
            ms: ms)
    }

    static func issue(_ error: Error, item: EvalItem, key: EvalRunKey?) -> EvalIssue {
        if let e = error as? EvalIssue {
            return EvalIssue(line: item.line, item: item.id, kind: e.kind, method: key?.method, keep: key?.keep,
                             message: e.message)
        }
        return EvalIssue(line: item.line, item: item.id, kind: key == nil ? .badPrefill : .generation,
                         method: key?.method, keep: key?.keep, message: "\(error)")
    }
}
