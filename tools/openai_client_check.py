#!/usr/bin/env python3
"""Drives `omnisift serve` with the official `openai` Python client (pip install openai), by hand; CI need not.

Starts the server on the tiny end-to-end checkpoint (Tests/OmniSIFTPipelineTests/Fixtures/e2e) on a free port
with an API key and --media-root at the test media, then checks with the client: the model list, a non-streamed
answer with extra_body={"omnisift": {...}} and its usage (prompt_tokens after compression,
prompt_tokens_details before it), a streamed answer that concatenates to the same text, a video under
--media-root, the client's error types for a wrong key (401), a bad request (400) and a path escape (400).
Exit status 0 when every check passed.

    python3 tools/openai_client_check.py [--binary .build/debug/omnisift] [--server URL --api-key K]

With --server it talks to a server you started yourself (then give --model-id and --video-url too if needed).
"""
import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import openai
from openai import OpenAI

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
E2E = os.path.join(ROOT, "Tests/OmniSIFTPipelineTests/Fixtures/e2e")
MEDIA = os.path.join(ROOT, "Tests/OmniMediaTests/Fixtures/media")
TOKENIZER = os.path.join(ROOT, "Tests/Fixtures/qwen2.5-omni-tokenizer")

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def model_folder():
    d = tempfile.mkdtemp(prefix="omnisift-openai-check-")
    for name in ("config.json", "model.safetensors"):
        os.symlink(os.path.join(E2E, "checkpoint", name), os.path.join(d, name))
    for name in os.listdir(TOKENIZER):
        os.symlink(os.path.join(TOKENIZER, name), os.path.join(d, name))
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/omnisift"))
    ap.add_argument("--server")
    ap.add_argument("--api-key", default="check-key")
    ap.add_argument("--model-id")
    ap.add_argument("--video-url", default="file:h264_320x240_30fps_aac_stereo.mp4")
    args = ap.parse_args()

    proc = None
    folder = None
    base = args.server
    if base is None:
        folder = model_folder()
        port = free_port()
        proc = subprocess.Popen([args.binary, "serve", "--model", folder, "--port", str(port), "--api-key", args.api_key,
                                 "--media-root", MEDIA, "--model-name", "tiny", "--log-level", "warning"])
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                with urllib.request.urlopen(base + "/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except Exception:
                time.sleep(0.1)
        else:
            print("the server did not become ready")
            proc.kill()
            return 2
    try:
        client = OpenAI(base_url=base + "/v1", api_key=args.api_key, max_retries=0)
        models = client.models.list()
        model = args.model_id or models.data[0].id
        check(len(models.data) == 1, f"models.list() lists one model ({model})")

        with open(os.path.join(MEDIA, "tone_16000_mono.wav"), "rb") as f:
            wav = base64.b64encode(f.read()).decode()
        messages = [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}},
            {"type": "text", "text": "Describe the sound."}]}]
        r = client.chat.completions.create(model=model, messages=messages, max_tokens=8,
                                           extra_body={"omnisift": {"method": "none"}})
        check(r.object == "chat.completion" and len(r.choices) == 1, "a non-streamed answer with one choice")
        check(r.usage.completion_tokens == 8, f"usage.completion_tokens == 8 ({r.usage.completion_tokens})")
        details = r.usage.prompt_tokens_details.model_dump() if r.usage.prompt_tokens_details else {}
        check(details.get("tokens_before_compression") == r.usage.prompt_tokens,
              f"no compression: prompt_tokens == tokens_before_compression ({r.usage.prompt_tokens})")
        text = r.choices[0].message.content

        stream = client.chat.completions.create(model=model, messages=messages, max_tokens=8, stream=True,
                                                stream_options={"include_usage": True},
                                                extra_body={"omnisift": {"method": "none"}})
        parts, usage = [], None
        for chunk in stream:
            if chunk.usage:
                usage = chunk.usage
            for c in chunk.choices:
                if c.delta.content:
                    parts.append(c.delta.content)
        check("".join(parts) == text, "the streamed text equals the non-streamed text")
        check(usage is not None and usage.completion_tokens == 8, "the stream's last chunk carries the usage")

        video = [{"role": "user", "content": [{"type": "video_url", "video_url": {"url": args.video_url}},
                                              {"type": "text", "text": "What happens in this video?"}]}]
        v = client.chat.completions.create(model=model, messages=video, max_tokens=4,
                                           extra_body={"omnisift": {"method": "omnisift", "keep": 0.35}})
        vd = v.usage.prompt_tokens_details.model_dump()
        check(v.usage.prompt_tokens < vd["tokens_before_compression"],
              f"OmniSIFT keep 0.35 on the video: {vd['tokens_before_compression']} -> {v.usage.prompt_tokens} prompt tokens "
              f"(video {vd['before']['video']} -> {vd['after']['video']}, retained {vd['retained_ratio']:.3f})")

        bad = OpenAI(base_url=base + "/v1", api_key="wrong", max_retries=0)
        try:
            bad.models.list()
            check(False, "a wrong key is refused")
        except openai.AuthenticationError as e:
            check(e.status_code == 401, "a wrong key raises AuthenticationError (401)")
        try:
            client.chat.completions.create(model=model, messages=messages, max_tokens=8, temperature=5)
            check(False, "temperature 5 is refused")
        except openai.BadRequestError as e:
            check(e.status_code == 400 and "temperature" in str(e), "temperature 5 raises BadRequestError (400)")
        try:
            client.chat.completions.create(model=model, max_tokens=2, messages=[{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "file:../../../../etc/passwd"}}]}])
            check(False, "a path escape is refused")
        except openai.BadRequestError as e:
            check(e.status_code == 400 and "'..'" in str(e), "a '..' media path raises BadRequestError (400)")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                code = proc.wait(timeout=30)
                check(code == 0, f"SIGTERM: the server exited cleanly (status {code})")
            except subprocess.TimeoutExpired:
                proc.kill()
                check(False, "SIGTERM: the server exited within 30 s")
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
