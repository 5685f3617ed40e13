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


if __name__ == "__main__":
    main()
