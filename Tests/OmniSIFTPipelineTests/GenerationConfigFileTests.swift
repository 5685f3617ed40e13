import Foundation
import OmniSIFTPipeline
import Testing

/// `generation_config.json`'s `eos_token_id` as the stop ids of a model folder.
@Suite struct GenerationConfigFileTests {
    func folder(_ contents: String?) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gencfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if let contents {
            try contents.write(to: dir.appendingPathComponent("generation_config.json"), atomically: true, encoding: .utf8)
        }
        return dir.path
    }

    @Test("absent -> no stops (the defaults); one id; a list; null; a config.json path reads its folder's file")
    func reads() throws {
        let none = try folder(nil)
        #expect(try GenerationConfigFile.load(modelPath: none) == nil)
        #expect(try GenerationConfigFile.stopTokens(modelPath: none) == [])
        #expect(try GenerationConfigFile.stopTokens(modelPath: try folder("{\"eos_token_id\": 205}")) == [205])
        let list = try folder("{\"eos_token_id\": [151645, 151643], \"pad_token_id\": 151643}")
        #expect(try GenerationConfigFile.stopTokens(modelPath: list) == [151645, 151643])
        try "{}".write(toFile: list + "/config.json", atomically: true, encoding: .utf8)
        #expect(try GenerationConfigFile.stopTokens(modelPath: list + "/config.json") == [151645, 151643])
        #expect(try GenerationConfigFile.stopTokens(modelPath: try folder("{\"eos_token_id\": null}")) == [])
        #expect(try GenerationConfigFile.stopTokens(modelPath: try folder("{}")) == [])
    }

    @Test("bad files are errors naming the file", arguments: ["{\"eos_token_id\": \"x\"}", "{\"eos_token_id\": [-1]}", "[1, 2]", "not json"])
    func bad(_ contents: String) throws {
        let dir = try folder(contents)
        #expect { try GenerationConfigFile.stopTokens(modelPath: dir) } throws: { "\($0)".contains("generation_config.json") }
    }

    @Test("GenerationSettings: given stops replace the defaults; the defaults only inside the vocabulary")
    func settings() {
        #expect(GenerationSettings(stopTokens: [205, 206]).stops(vocabSize: 256) == [205, 206])
        #expect(GenerationSettings().stops(vocabSize: 256).isEmpty)
        #expect(GenerationSettings().stops(vocabSize: 151_936) == [151_645, 151_643])
    }
}
