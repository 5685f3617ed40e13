#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import OmniTensor

/// A checkpoint made of one or more `.safetensors` files, addressed by tensor name.
///
/// `path` may be
/// - a single `.safetensors` file;
/// - a sharded checkpoint's index file (`model.safetensors.index.json`: `{"metadata": {...}, "weight_map":
///   {tensor name: shard file name}}`, shard names relative to the index's folder);
/// - a folder holding `model.safetensors.index.json` (or exactly one other `*.safetensors.index.json`), or else
///   `model.safetensors` (or exactly one `*.safetensors` file).
///
/// With an index, only the shards it references are opened, every key must be found in the shard it maps to, and a
/// missing shard is an error naming it.
public final class SafeTensorsCheckpoint: @unchecked Sendable {
    /// The path given to `init`.
    public let path: String
    /// The index file, when the checkpoint is sharded.
    public let indexPath: String?
    /// The opened files (shards in name order).
    public let files: [SafeTensorsFile]
    /// Metadata merged over the files' `__metadata__` and, for an index, its `"metadata"` values
    /// (numbers as written, e.g. `total_size`).
    public let metadata: [String: String]

    private let fileOf: [String: Int]
    /// All tensor names, sorted.
    public let names: [String]

    /// Opens the checkpoint at `path`; see the type's documentation for what `path` may be.
    public init(path: String) throws {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw SafeTensorsError(file: path, problem: "cannot open: \(String(cString: strerror(errno)))")
        }
        let target: String
        if (st.st_mode & S_IFMT) == S_IFDIR {
            target = try Self.resolveFolder(path)
        } else {
            target = path
        }
        if target.hasSuffix(".json") {
            let (files, fileOf, meta) = try Self.openIndex(target)
            self.indexPath = target
            self.files = files
            self.fileOf = fileOf
            self.metadata = meta
        } else {
            let f = try SafeTensorsFile(path: target)
            self.indexPath = nil
            self.files = [f]
            var fileOf: [String: Int] = [:]
            for e in f.entries { fileOf[e.name] = 0 }
            self.fileOf = fileOf
            self.metadata = f.metadata
        }
        self.names = fileOf.keys.sorted()
    }

    /// Picks the index or the single file inside a folder.
    private static func resolveFolder(_ folder: String) throws(SafeTensorsError) -> String {
        let listing = listFolder(folder)
        if listing.contains("model.safetensors.index.json") { return join(folder, "model.safetensors.index.json") }
        let indexes = listing.filter { $0.hasSuffix(".safetensors.index.json") }
        if indexes.count == 1 { return join(folder, indexes[0]) }
        if indexes.count > 1 {
            throw SafeTensorsError(file: folder, problem: "folder holds several index files (\(indexes.joined(separator: ", "))); "
                + "pass one of them")
        }
        if listing.contains("model.safetensors") { return join(folder, "model.safetensors") }
        let singles = listing.filter { $0.hasSuffix(".safetensors") }
        if singles.count == 1 { return join(folder, singles[0]) }
        if singles.isEmpty {
            throw SafeTensorsError(file: folder, problem: "folder holds no model.safetensors.index.json and no .safetensors file")
        }
        throw SafeTensorsError(file: folder, problem: "folder holds \(singles.count) .safetensors files but no "
            + "model.safetensors.index.json; pass one file")
    }

    private static func listFolder(_ folder: String) -> [String] {
        guard let dir = opendir(folder) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: ent.pointee.d_name)) {
                    String(cString: $0)
                }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    private static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    private static func folderOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func openIndex(
        _ indexPath: String
    ) throws -> ([SafeTensorsFile], [String: Int], [String: String]) {
        func err(_ problem: String) -> SafeTensorsError { SafeTensorsError(file: indexPath, problem: problem) }
        let mapping = try MappedFile(path: indexPath)
        guard mapping.size <= SafeTensorsHeader.maxHeaderBytes else {
            throw err("index file is \(mapping.size) bytes, above the \(SafeTensorsHeader.maxHeaderBytes)-byte cap")
        }
        let bytes = mapping.bytes(at: 0, count: mapping.size)
        guard String(validating: bytes, as: UTF8.self) != nil else { throw err("index is not valid UTF-8") }
        let root: JSONValue
        do {
            root = try parseJSON(bytes)
        } catch {
            throw err("index is not valid JSON: \(error.message) at byte \(error.offset)")
        }
        guard let object = root.objectValue else { throw err("index JSON is \(root.kindName), expected an object") }
        guard let wm = object["weight_map"] else { throw err("index has no \"weight_map\"") }
        guard let weightMap = wm.objectValue else {
            throw err("\"weight_map\" is \(wm.kindName), expected an object of tensor name -> shard file")
        }
        var metadata: [String: String] = [:]
        if let m = object["metadata"] {
            guard let mo = m.objectValue else { throw err("\"metadata\" is \(m.kindName), expected an object") }
            for key in mo.keys {
                switch mo[key]! {
                case .string(let s): metadata[key] = s
                case .number(let t): metadata[key] = t
                case .bool(let b): metadata[key] = b ? "true" : "false"
                default: break  // nested values are not string metadata
                }
            }
        }
        var shardNames: [String] = []
        var keysOfShard: [String: [String]] = [:]
        for key in weightMap.keys {
            guard let shard = weightMap[key]!.stringValue else {
                throw err("weight_map entry '\(key)' is \(weightMap[key]!.kindName), expected a shard file name")
            }
            guard !shard.isEmpty, !shard.hasPrefix("/"), !shard.split(separator: "/").contains("..") else {
                throw err("weight_map entry '\(key)' names shard '\(shard)', which is not a file name inside the index's folder")
            }
            if keysOfShard[shard] == nil { shardNames.append(shard) }
            keysOfShard[shard, default: []].append(key)
        }
        shardNames.sort()
        let folder = folderOf(indexPath)
        var files: [SafeTensorsFile] = []
        var fileOf: [String: Int] = [:]
        for shard in shardNames {
            let shardPath = join(folder, shard)
            let keys = keysOfShard[shard]!
            guard access(shardPath, F_OK) == 0 else {
                throw err("shard \(shard) does not exist (\(shardPath)); the index maps \(keys.count) tensor(s) to it, "
                    + "e.g. '\(keys[0])'")
            }
            let f = try SafeTensorsFile(path: shardPath)
            for key in keys {
                guard f.contains(key) else {
                    throw err("the index maps tensor '\(key)' to shard \(shard), which does not contain it")
                }
                fileOf[key] = files.count
            }
            for (k, v) in f.metadata where metadata[k] == nil { metadata[k] = v }
            files.append(f)
        }
        return (files, fileOf, metadata)
    }

    /// The entry for `name`, or nil.
    public func entry(_ name: String) -> TensorEntry? {
        file(containing: name)?.entry(name)
    }

    /// The file holding `name`, or nil.
    public func file(containing name: String) -> SafeTensorsFile? {
        fileOf[name].map { files[$0] }
    }

    /// Whether the checkpoint has a tensor called `name`.
    public func contains(_ name: String) -> Bool { fileOf[name] != nil }

    private func requireFile(_ name: String) throws(SafeTensorsError) -> SafeTensorsFile {
        guard let f = file(containing: name) else {
            throw SafeTensorsError(file: indexPath ?? files.first?.path ?? path, problem: "no tensor named '\(name)'")
        }
        return f
    }

    /// An F32/F16/BF16 tensor as a Float32 `Tensor`.
    public func floatTensor(_ name: String) throws -> Tensor {
        try requireFile(name).floatTensor(name)
    }

    /// The tensor's bytes inside its shard's mapping (valid while the checkpoint lives).
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        try requireFile(name).rawBytes(name)
    }

    /// Entries for all names, in `names` order.
    public var entries: [TensorEntry] { names.map { entry($0)! } }
}
