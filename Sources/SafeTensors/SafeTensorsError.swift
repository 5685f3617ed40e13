/// The error every reader, writer and checkpoint failure throws: the file concerned and what is wrong with it.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// Path of the file the problem is in (a shard, an index file, or the file being written).
    public let file: String
    /// What is wrong, naming the tensor / key and the numbers involved.
    public let problem: String

    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    /// `"<file>: <problem>"`.
    public var description: String { "\(file): \(problem)" }
}
