#!/usr/bin/env python3
"""What Hugging Face `tokenizers` does with a merge listed twice: the pair takes its LAST rank.

A byte-level BPE tokenizer with the 256 byte tokens, "ab" (256) and "bc" (257), and the merges [b c], [a b], [b c]:
with the first rank kept "abc" would be a + bc = [97, 257]; tokenizers gives ab + c = [256, 99]. The expectation of
TokenizerDuplicateEntryTests.duplicateMergeTakesItsLastRank. Needs `pip install tokenizers`.
Run: python3 tools/check_duplicate_merges.py
"""
import json

import tokenizers

kept = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
chars, extra = {b: chr(b) for b in kept}, 0
for b in range(256):
    if b not in chars:
        chars[b] = chr(256 + extra)
        extra += 1
vocab = {chars[b]: b for b in range(256)}
vocab.update({"ab": 256, "bc": 257})
byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
spec = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
        "pre_tokenizer": byte_level, "post_processor": None, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [["b", "c"], ["a", "b"], ["b", "c"]]}}
t = tokenizers.Tokenizer.from_str(json.dumps(spec))
print("tokenizers", tokenizers.__version__, "encode('abc') =", t.encode("abc").ids)
