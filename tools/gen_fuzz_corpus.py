#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (Fuzz/corpus/<target>/) from the committed test fixtures.

Seeds are small on purpose (a few KB: libFuzzer mutates faster and its -max_len stays low): prefill files are
rebuilt from the layout fixtures (Tests/QwenOmniTests/Fixtures/layout/*.json, made by transformers) with narrow
random embeddings, and 64-wide ones for the tiny thinker / VGAS selector paths; the safetensors seeds add one
tensor of every dtype, edge shapes and a tiny selector; the config seeds are the fixture config.json files.
Only the standard library is used. Run from the repository root: python3 tools/gen_fuzz_corpus.py
"""
import json, os, random, struct, shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fuzz", "corpus")
LAYOUT = os.path.join(ROOT, "Tests", "QwenOmniTests", "Fixtures", "layout")
rng = random.Random(15)

FMT = {"F32": "<f", "I64": "<q", "I32": "<i", "U8": "<B", "BOOL": "<B", "F16": "<e"}
SIZE = {"F32": 4, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1, "F16": 2, "BF16": 2}


def pack(dtype, values):
    if dtype == "BF16":
        return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:] for v in values)
    return b"".join(struct.pack(FMT[dtype], v) for v in values)


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, flat values)."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, values in tensors:
        blob = pack(dtype, values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def prefill(fx, d=2, dtype="F32", positions=False, labels=False, saliency=False, keep=None, bos=False):
    ids = fx["input_ids"]
    n = len(ids)
    t = [("input_ids", "I64", [1, n] if bos else [n], ids)]
    if d:
        t.append(("inputs_embeds", dtype, [n, d], [rng.uniform(-1, 1) for _ in range(n * d)]))
    if positions:
        p = fx["position_ids"]
        t.append(("position_ids", "I64", [3, n], p[0] + p[1] + p[2]))
        t.append(("rope_deltas", "I64", [1], [fx["rope_delta"]]))
    if fx["video_grid_thw"]:
        g = fx["video_grid_thw"]
        t.append(("video_grid_thw", "I64", [len(g), 3], sum(g, [])))
        t.append(("video_second_per_grid", "F32", [len(g)], fx["video_second_per_grid"]))
    if fx["image_grid_thw"]:
        g = fx["image_grid_thw"]
        t.append(("image_grid_thw", "I64", [len(g), 3], sum(g, [])))
    if fx["audio_feature_lengths"]:
        a = fx["audio_feature_lengths"]
        t.append(("audio_feature_lengths", "I64", [len(a)], a))
    if labels:
        t.append(("labels", "I64", [n], [-100] * (n - 3) + ids[-3:]))
    if saliency:
        na = ids.count(151646)
        t.append(("audio_saliency", "F32", [na], [rng.uniform(0, 1) for _ in range(na)]))
    meta = {"use_audio_in_video": "true" if fx["use_audio_in_video"] else "false"}
    if keep is not None:  # a compressed file: the kept rows, the original positions, keep_mask over the original
        rows = [i for i in range(n) if keep(i, ids[i])]
        p = fx["position_ids"]
        t = [("input_ids", "I64", [len(rows)], [ids[i] for i in rows]),
             ("inputs_embeds", dtype, [len(rows), d], [rng.uniform(-1, 1) for _ in range(len(rows) * d)]),
             ("position_ids", "I64", [3, len(rows)], [p[a][i] for a in range(3) for i in rows]),
             ("rope_deltas", "I64", [1], [fx["rope_delta"]]),
             ("keep_mask", "U8", [n], [1 if i in rows else 0 for i in range(n)])] + t[1 + (1 if d else 0):]
        t = [x for x in t if x[0] not in ("position_ids", "rope_deltas") or len(x[3]) in (1, 3 * len(rows))]
        meta["method"] = "fixture"
    return safetensors(t, meta)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    fixtures = {}
    for f in sorted(os.listdir(LAYOUT)):
        fx = json.load(open(os.path.join(LAYOUT, f)))
        if len(fx["input_ids"]) <= 400:
            fixtures[f[:-5]] = fx

    # prefill: every small layout with D = 2, then variants
    for name, fx in fixtures.items():
        write("prefill", f"{name}.safetensors", prefill(fx))
    v = fixtures["video_audio_shorter_audio"]
    write("prefill", "shorter_audio_positions_labels_saliency.safetensors",
          prefill(v, d=3, positions=True, labels=True, saliency=True))
    write("prefill", "mixed_chat_bf16_batch_dim.safetensors", prefill(fixtures["mixed_chat"], dtype="BF16", bos=True))
    write("prefill", "image_text_d64.safetensors", prefill(fixtures["image_text"], d=64, dtype="BF16", positions=True))
    write("prefill", "two_videos_no_audio_image_d64.safetensors",
          prefill(fixtures["two_videos_no_audio_image"], d=64, dtype="BF16"))
    write("prefill", "shorter_audio_d64.safetensors", prefill(v, d=64, dtype="BF16"))
    write("prefill", "shorter_audio_compressed.safetensors",
          prefill(v, d=4, keep=lambda i, t: t not in (151656, 151646) or i % 3 == 0))
    write("prefill", "text_only.safetensors", safetensors([("input_ids", "I64", [5], [9707, 11, 1879, 30, 151645])]))

    # safetensors: every dtype, edge shapes, metadata, a tiny VGAS selector, two prefill files
    one_each = [("f32", "F32", [2, 2], [1.0, -2.0, 0.5, 3.0]), ("f16", "F16", [3], [1.0, -0.5, 65504.0]),
                ("bf16", "BF16", [2], [1.0, -3.0]), ("i64", "I64", [2], [-1, 2 ** 40]), ("i32", "I32", [1, 2], [7, -7]),
                ("u8", "U8", [3], [0, 1, 255]), ("bool", "BOOL", [2], [0, 1]), ("scalar", "F32", [], [2.5]),
                ("empty", "F32", [0, 4], [])]
    write("safetensors", "every_dtype.safetensors", safetensors(one_each, {"format": "pt", "k": "v"}))
    write("safetensors", "empty_header.safetensors", safetensors([]))
    D, H = 8, 4
    sel = []
    for n, shape in [("v_proj.weight", [H, D]), ("v_proj.bias", [H]), ("a_proj.weight", [H, D]), ("a_proj.bias", [H]),
                     ("v_norm.weight", [H]), ("v_norm.bias", [H]), ("a_norm.weight", [H]), ("a_norm.bias", [H]),
                     ("cross_attn.in_proj_weight", [3 * H, H]), ("cross_attn.in_proj_bias", [3 * H]),
                     ("cross_attn.out_proj.weight", [H, H]), ("cross_attn.out_proj.bias", [H]),
                     ("post_attn_norm.weight", [H]), ("post_attn_norm.bias", [H]),
                     ("score_head.0.weight", [H // 2, H]), ("score_head.0.bias", [H // 2]),
                     ("score_head.2.weight", [1, H // 2]), ("score_head.2.bias", [1])]:
        count = 1
        for s in shape:
            count *= s
        sel.append(("thinker.compressor." + n, "F32", shape, [rng.uniform(-0.5, 0.5) for _ in range(count)]))
    write("safetensors", "selector_d8.safetensors", safetensors(sel, {"num_heads": "2"}))
    write("safetensors", "prefill_image_text.safetensors", prefill(fixtures["image_text"]))
    write("safetensors", "prefill_compressed.safetensors",
          prefill(v, d=2, keep=lambda i, t: t != 151656 or i % 2 == 0))

    # config: the fixture configs
    cfg = os.path.join(ROOT, "Tests", "QwenOmniTests", "Fixtures")
    for src, name in [("config/qwen2_5_omni_7b_config.json", "qwen2_5_omni_7b.json"),
                      ("thinker/checkpoint/config.json", "tiny_thinker.json")]:
        write("config", name, open(os.path.join(cfg, src), "rb").read())
    minimal = {"thinker_config": {"text_config": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                                                  "num_key_value_heads": 2, "intermediate_size": 128,
                                                  "vocab_size": 256, "rope_parameters": {"mrope_section": [2, 3, 3],
                                                                                         "rope_theta": 10000.0}},
                                  "audio_config": {"output_dim": 64}, "vision_config": {"out_hidden_size": 64},
                                  "audio_token_index": 211, "video_token_index": 210, "image_token_index": 212,
                                  "audio_start_token_id": 201, "audio_end_token_id": 202,
                                  "vision_start_token_id": 200, "vision_end_token_id": 203}}
    write("config", "minimal_rope_parameters.json", json.dumps(minimal).encode())

    tokenizer_seeds()
    eval_seeds()


TOK = os.path.join(ROOT, "Tests", "Fixtures", "qwen2.5-omni-tokenizer")
TOK_CASES = os.path.join(ROOT, "Tests", "QwenTokenizerTests", "Fixtures")


def small_tokenizer(extra=60):
    """A small consistent slice of the real tokenizer: the 256 byte tokens (ids 0-255), the first `extra`
    merges whose parts and result are in that slice (the real ids kept), the 22 added tokens renumbered after
    them, and the real normalizer / pre-tokenizer / decoder. Returns (tokenizer.json, vocab, merges, added)."""
    real = json.load(open(os.path.join(TOK, "tokenizer.json"), encoding="utf-8"))
    by_id = sorted(real["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab = dict(by_id[:256 + extra])
    merges = [m for m in real["model"]["merges"][:extra + 50]
              if m[0] in vocab and m[1] in vocab and m[0] + m[1] in vocab][:extra]
    top = max(vocab.values()) + 1
    added = [dict(a, id=top + k) for k, a in enumerate(real["added_tokens"])]
    t = dict(real, added_tokens=added, model=dict(real["model"], vocab=vocab, merges=merges))
    return t, vocab, merges, added


def tokenizer_config(added, template=True):
    real = json.load(open(os.path.join(TOK, "tokenizer_config.json"), encoding="utf-8"))
    c = dict(real, added_tokens_decoder={str(a["id"]): {k: v for k, v in a.items() if k != "id"} for a in added})
    if not template:
        c.pop("chat_template", None)
    return c


def tokenizer_seeds():
    """fuzz-tokenizer: mode byte (Fuzz/Tokenizer) then the payload."""
    cases = json.load(open(os.path.join(TOK_CASES, "encode_cases.json"), encoding="utf-8"))["cases"]
    # texts: a spread of the parity cases (every 40th, plus the long and special-token ones), one seed each
    picked = [c["text"] for c in cases[::40]] + [c["text"] for c in cases if "<|" in c["text"]][:10]
    for k, text in enumerate(picked):
        write("tokenizer", f"text_{k:03d}", b"\x00" + text.encode("utf-8"))
    write("tokenizer", "text_invalid_utf8", b"\x00abc\xff\xc3(\xed\xa0\x80 \xf0\x9f\x98")
    for k, c in enumerate(json.load(open(os.path.join(TOK_CASES, "decode_cases.json"), encoding="utf-8"))["cases"][::100]):
        write("tokenizer", f"ids_{k:03d}", bytes([1 | (4 if c["skip_special"] else 0)])
              + b"".join(i.to_bytes(3, "little") for i in c["ids"]))
    chat = json.load(open(os.path.join(TOK_CASES, "chat_cases.json"), encoding="utf-8"))
    for k, c in enumerate(chat["cases"]):
        records = []
        for m in c["messages"]:
            role = {"system": 0, "user": 1, "assistant": 2}.get(m["role"])
            head = 3 if role is None else role
            prefix = b"" if role is not None else m["role"].encode() + b"\x1d"
            if isinstance(m["content"], str):
                records.append(bytes([head]) + prefix + m["content"].encode())
            else:
                parts = []
                for it in m["content"]:
                    kind = {"image": 1, "audio": 2, "video": 3}.get(it["type"], 0)
                    parts.append(bytes([kind]) + (it.get("text") or "").encode() if kind == 0 else bytes([kind]))
                records.append(bytes([head | 4]) + prefix + b"\x1f".join(parts))
        mode = 2 | (4 if c["add_generation_prompt"] else 0) | (8 if c["add_vision_id"] else 0) | (16 if c["add_audio_id"] else 0)
        write("tokenizer", f"chat_{k:02d}", bytes([mode]) + b"\x1e".join(records))
    # folders: the small slice as tokenizer.json (+ config, + processor template), and as vocab.json + merges.txt
    t, vocab, merges, added = small_tokenizer()
    dumps = lambda o: json.dumps(o, ensure_ascii=False).encode("utf-8")
    template = open(os.path.join(TOK, "chat_template.json"), "rb").read()
    text = "Hello world, café <|im_start|>user\n1234 naïve 你好".encode("utf-8")
    sec = lambda name, data: b"\n@@" + name.encode() + b"\n" + data
    write("tokenizer", "folder_tokenizer_json", b"\x03" + text + sec("tokenizer.json", dumps(t))
          + sec("tokenizer_config.json", dumps(tokenizer_config(added, template=False)))
          + sec("chat_template.json", template))
    write("tokenizer", "folder_tokenizer_json_config_template", b"\x03" + text + sec("tokenizer.json", dumps(t))
          + sec("tokenizer_config.json", dumps(tokenizer_config(added))))
    merges_txt = ("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges) + "\n").encode("utf-8")
    write("tokenizer", "folder_vocab_merges", b"\x03" + text + sec("vocab.json", dumps(vocab))
          + sec("merges.txt", merges_txt) + sec("tokenizer_config.json", dumps(tokenizer_config(added))))
    tiny, _, _, _ = small_tokenizer(extra=8)
    tiny["normalizer"] = None
    tiny["added_tokens"] = tiny["added_tokens"][:3]
    write("tokenizer", "folder_tiny_no_normalizer", b"\x03" + text + sec("tokenizer.json", dumps(tiny))
          + sec("chat_template.jinja", json.loads(template)["chat_template"].encode("utf-8")))


def eval_seeds():
    """fuzz-eval: benchmark jsonl files whose paths point into the scratch folder the target makes."""
    line = lambda **o: json.dumps(o, ensure_ascii=False)
    opts = ["A. a dog", "B. a cat", "C. a bird", "D. a fish"]
    files = {
        "prefill_items.jsonl": [line(id="q1", prefill_path="item.safetensors", answer="B", task="count", duration=12.0),
                                line(id=2, prefill_path="./item.safetensors", options=opts, answer="(C)", question="Which?"),
                                line(id="q3", prefill_path="sub/../item.safetensors", options=opts[:2], answer="a")],
        "video_items.jsonl": [line(id="v1", video_path="clip.mp4", question="What is shown?", options=opts, answer="D",
                                   duration="30"),
                              line(id="v2", video_path="clip.mp4", question="Which?\nA. x\nB. y\nC) z", answer="B."),
                              line(id="v3", video_path="missing.mp4", question="q", options=opts, answer="A",
                                   duration="short")],
        "mixed_bad_lines.jsonl": ["", "not json", "[1, 2]", line(id="d", prefill_path="item.safetensors", answer="A"),
                                  line(id="d", prefill_path="item.safetensors", answer="A"),
                                  line(id="c", prefill_path="compressed.safetensors", answer="A"),
                                  line(id="s", prefill_path="sub", answer="A"),
                                  line(id="abs", prefill_path="/nonexistent/item.safetensors", answer="A"),
                                  line(id="e", prefill_path="item.safetensors", options=["A. x", "C. y"], answer="A"),
                                  line(id="f", prefill_path="item.safetensors", options=opts + ["E. e"], answer="E"),
                                  line(id="g", video_path="clip.mp4", answer="A"), line(prefill_path="", answer="A"),
                                  line(id="h", prefill_path="item.safetensors", answer=1), "   \t"],
        "prompt_item.jsonl": [line(id="p", video_path="clip.mp4", prompt="Say A.", options=opts[:3], answer="c",
                                   task=None, duration=None)],
    }
    for name, lines in files.items():
        write("eval", name, ("\n".join(lines) + "\n").encode("utf-8"))
    write("eval", "no_trailing_newline.jsonl", line(id="x", prefill_path="item.safetensors", answer="A").encode())


if __name__ == "__main__":
    main()
