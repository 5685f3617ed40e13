/// Parsing and validation of the JSON header of a `.safetensors` file.
///
/// File layout: 8 bytes little-endian UInt64 `N`, then `N` bytes of UTF-8 JSON (an object mapping each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` plus an optional `"__metadata__"` object of strings), then the
/// data area. Offsets are relative to the start of the data area.
enum SafeTensorsHeader {
    /// Largest header accepted (the reference implementation uses the same 100 MB cap).
    static let maxHeaderBytes = 100_000_000

    struct Parsed {
        var metadata: [String: String]
        /// In data-offset order (ties by name).
        var entries: [TensorEntry]
    }

    /// Parses and validates the header JSON. `dataSize` is the number of bytes after the header.
    static func parse(_ json: UnsafeRawBufferPointer, dataSize: Int, file: String) throws(SafeTensorsError) -> Parsed {
        func err(_ problem: String) -> SafeTensorsError { SafeTensorsError(file: file, problem: problem) }

        guard String(validating: json, as: UTF8.self) != nil else {
            throw err("header is not valid UTF-8")
        }
        let root: JSONValue
        do {
            root = try parseJSON(json)
        } catch {
            throw err("header is not valid JSON: \(error.message) at header byte \(error.offset)")
        }
        guard let object = root.objectValue else {
            throw err("header JSON is \(root.kindName), expected an object")
        }

        var metadata: [String: String] = [:]
        var entries: [TensorEntry] = []
        entries.reserveCapacity(object.keys.count)
        for name in object.keys {
            let value = object.values[name]!
            if name == "__metadata__" {
                guard let meta = value.objectValue else {
                    throw err("__metadata__ is \(value.kindName), expected an object of string -> string")
                }
                for key in meta.keys {
                    guard let s = meta.values[key]!.stringValue else {
                        throw err("__metadata__ value for key '\(key)' is \(meta.values[key]!.kindName), expected a string")
                    }
                    metadata[key] = s
                }
                continue
            }
            entries.append(try parseEntry(name: name, value: value, dataSize: dataSize, err: err))
        }

        entries.sort { ($0.byteOffset, $0.byteCount, $0.name) < ($1.byteOffset, $1.byteCount, $1.name) }
        // Overlap check on non-empty ranges, in begin order: each must start at or after the furthest end so far.
        var furthestEnd = 0
        var furthestName: String? = nil
        for e in entries where e.byteCount > 0 {
            if let prev = furthestName, e.byteOffset < furthestEnd {
                let prevEntry = entries.first { $0.name == prev }!
                throw err("tensors '\(prev)' [\(prevEntry.byteOffset), \(prevEntry.byteOffset + prevEntry.byteCount)) and "
                    + "'\(e.name)' [\(e.byteOffset), \(e.byteOffset + e.byteCount)) overlap")
            }
            if e.byteOffset + e.byteCount > furthestEnd {
                furthestEnd = e.byteOffset + e.byteCount
                furthestName = e.name
            }
        }
        return Parsed(metadata: metadata, entries: entries)
    }

    private static func parseEntry(
        name: String, value: JSONValue, dataSize: Int, err: (String) -> SafeTensorsError
    ) throws(SafeTensorsError) -> TensorEntry {
        guard let obj = value.objectValue else {
            throw err("tensor '\(name)': entry is \(value.kindName), expected an object with dtype, shape, data_offsets")
        }
        // dtype
        guard let dtypeValue = obj["dtype"] else { throw err("tensor '\(name)': missing \"dtype\"") }
        guard let dtypeText = dtypeValue.stringValue else {
            throw err("tensor '\(name)': \"dtype\" is \(dtypeValue.kindName), expected a string")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeText) else {
            throw err("unsupported dtype \(dtypeText) for tensor \(name)")
        }
        // shape
        guard let shapeValue = obj["shape"] else { throw err("tensor '\(name)': missing \"shape\"") }
        guard let shapeItems = shapeValue.arrayValue else {
            throw err("tensor '\(name)': \"shape\" is \(shapeValue.kindName), expected an array of integers")
        }
        var shape: [Int] = []
        shape.reserveCapacity(shapeItems.count)
        for item in shapeItems {
            guard let d = item.intValue else {
                throw err("tensor '\(name)': \"shape\" holds \(describe(item)), expected integers")
            }
            guard d >= 0 else { throw err("tensor '\(name)': negative dimension \(d) in shape \(shape + [d])") }
            shape.append(d)
        }
        // data_offsets
        guard let offsetsValue = obj["data_offsets"] else { throw err("tensor '\(name)': missing \"data_offsets\"") }
        guard let offsetItems = offsetsValue.arrayValue, offsetItems.count == 2,
              let begin = offsetItems[0].intValue, let end = offsetItems[1].intValue
        else {
            throw err("tensor '\(name)': \"data_offsets\" must be [begin, end] with two integers, got \(describe(offsetsValue))")
        }
        guard begin >= 0, begin <= end else {
            throw err("tensor '\(name)': data_offsets [\(begin), \(end)] must satisfy 0 <= begin <= end")
        }
        guard end <= dataSize else {
            throw err("tensor '\(name)': data_offsets end \(end) is beyond the data area of \(dataSize) bytes")
        }
        // size
        guard let elements = checkedProduct(shape),
              case (let expected, false) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        else {
            throw err("tensor '\(name)': shape \(shape) has more elements than can be addressed")
        }
        guard expected == end - begin else {
            throw err("tensor '\(name)': data_offsets [\(begin), \(end)] span \(end - begin) bytes, but shape \(shape) "
                + "x \(dtype.rawValue) (\(dtype.byteSize) bytes) needs \(elements) x \(dtype.byteSize) = \(expected) bytes")
        }
        return TensorEntry(name: name, dtype: dtype, shape: shape, byteOffset: begin, byteCount: end - begin)
    }

    /// Compact rendering of a JSON value for messages (numbers and short arrays shown as written).
    private static func describe(_ v: JSONValue) -> String {
        switch v {
        case .number(let t): return t
        case .string(let s): return jsonQuoted(s)
        case .array(let items) where items.count <= 8: return "[" + items.map(describe).joined(separator: ", ") + "]"
        default: return v.kindName
        }
    }
}
