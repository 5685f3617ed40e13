#!/usr/bin/env python3
"""Compares two output folders of tools/arch_outputs.sh byte for byte, ignoring what measures time.

.safetensors: header (minus metadata whose key ends in _ms, _seconds or holds 'time') and every tensor's bytes.
.stdout holding JSON: the parsed JSON minus timing / memory fields. .stderr (notes, errors): text. Other files
(PNG, ...): bytes. The folders' own paths are replaced by one name before comparing.
Exit 1 and one line per difference when the folders differ."""
import json, os, struct, sys

TIMING = ("ms", "seconds", "persecond", "time", "rss", "gflops", "speedup", "tokenspersecond")

def timing_key(k):
    k = k.lower().replace("_", "")
    return any(k.endswith(t) for t in TIMING) or "time" in k or "rss" in k

def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if not timing_key(k)}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v

def safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    meta = {k: v for k, v in meta.items() if not timing_key(k)}
    body = data[8 + n:]
    tensors = {k: (v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in header.items()}
    return meta, tensors

def compare(a, b, rel, problems, roots):
    if rel.endswith(".safetensors"):
        (ma, ta), (mb, tb) = safetensors(a), safetensors(b)
        if ma != mb:
            problems.append(f"{rel}: metadata differs: {ma} vs {mb}")
        for k in sorted(set(ta) | set(tb)):
            if ta.get(k) != tb.get(k):
                problems.append(f"{rel}: tensor {k} differs")
    elif rel.endswith(".stdout"):
        ra, rb = open(a).read(), open(b).read()
        # The folders' own paths appear in the reports; compare them as one name.
        for root in sorted(roots, key=len, reverse=True):
            ra = ra.replace(root, "OUT").replace(root.replace("/", "\\/"), "OUT")
            rb = rb.replace(root, "OUT").replace(root.replace("/", "\\/"), "OUT")
        try:
            ja, jb = strip(json.loads(ra)), strip(json.loads(rb))
            if ja != jb:
                problems.append(f"{rel}: JSON differs:\n  {json.dumps(ja)[:400]}\n  {json.dumps(jb)[:400]}")
        except json.JSONDecodeError:
            if ra != rb:
                problems.append(f"{rel}: text differs")
    elif rel.endswith(".stderr"):
        ra, rb = open(a).read(), open(b).read()
        for root in sorted(roots, key=len, reverse=True):
            ra, rb = ra.replace(root, "OUT"), rb.replace(root, "OUT")
        if ra != rb:
            problems.append(f"{rel}: stderr (notes, errors, exit status) differs: {ra[-200:]!r} vs {rb[-200:]!r}")
    elif open(a, "rb").read() != open(b, "rb").read():
        problems.append(f"{rel}: bytes differ")

def main():
    A, B = sys.argv[1], sys.argv[2]
    problems, count = [], 0
    for root, _, files in os.walk(A):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), A)
            if not os.path.exists(os.path.join(B, rel)):
                problems.append(f"{rel}: missing in {B}")
                continue
            compare(os.path.join(A, rel), os.path.join(B, rel), rel, problems, [os.path.abspath(A), os.path.abspath(B)])
            count += 1
    for root, _, files in os.walk(B):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), B)
            if not os.path.exists(os.path.join(A, rel)):
                problems.append(f"{rel}: missing in {A}")
    print("\n".join(problems) if problems else f"identical: {count} files")
    sys.exit(1 if problems else 0)

main()
