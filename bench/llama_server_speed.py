"""Completion speed of llama.cpp's server on the default GGUF, for comparing builds of llama-cpp-python.

    HF_HUB_OFFLINE=1 VALUEKIT_DATA_DIR=../shared/data .venv/bin/python bench/llama_server_speed.py [--requests 6] [--tokens 64]

Starts the server (valuekit.openai_lm.llama_cpp_server) with whichever llama_cpp this Python imports — put another
build first on PYTHONPATH to measure it (e.g. `pip install --target /tmp/native <wheel>`, then
PYTHONPATH=/tmp/native) — and sends judge prompts from the data mirror (FairEval questions with both answers, about
700 tokens) one at a time: greedy, --tokens new tokens each, no stop. Prints the build's instruction sets, then
prompt and generated tokens per second from streamed replies: the time to the first token is prompt processing
(prompt tokens as the server counts them), the time from the first to the last token is generation (one streamed
chunk per token). Last line: one JSON object.
"""
from __future__ import annotations
import argparse, json, os, tempfile, time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def prompts(n: int) -> list[str]:
    "n FairEval judge prompts (question and the two released answers) from the data mirror."
    from valuekit import data
    qs = data.load("faireval", "question.jsonl").set_index("question_id")["text"]
    a = data.load("faireval", "answer/answer_gpt35.jsonl").set_index("question_id")["text"]
    b = data.load("faireval", "answer/answer_vicuna-13b.jsonl").set_index("question_id")["text"]
    return [f"Question: {qs[q]}\n\nAssistant 1: {a[q]}\n\nAssistant 2: {b[q]}\n\nWhich answer is better, and why?\n"
            for q in list(qs.index)[:n]]


def srv_tokens(client, p: str) -> list:
    "The prompt's tokens as the server counts them (its usage of a one-token completion)."
    r = client.completions.create(model="default", prompt=p, max_tokens=1, temperature=0)
    return [None] * r.usage.prompt_tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=6)
    ap.add_argument("--tokens", type=int, default=64)
    a = ap.parse_args()
    import llama_cpp, openai
    from valuekit.hf import default_gguf_path
    from valuekit.openai_lm import llama_cpp_server
    build = llama_cpp.llama_print_system_info().decode().strip()
    print("llama.cpp build:", build, "| from", Path(llama_cpp.__file__).parent, flush=True)
    log = Path(tempfile.mkdtemp()) / "server.log"
    with llama_cpp_server(default_gguf_path(), log, alias="default", n_ctx=2048) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="EMPTY", max_retries=0, timeout=600)
        def complete(p, n):
            "Seconds to the first streamed token (prompt processing), seconds for the rest, tokens after the first."
            t0 = time.perf_counter(); first = None; chunks = 0
            for ch in client.completions.create(model="default", prompt=p, max_tokens=n, temperature=0, stream=True):
                if ch.choices and ch.choices[0].text:
                    chunks += 1
                    if first is None: first = time.perf_counter()
            end = time.perf_counter()
            return first - t0, end - first, chunks - 1
        complete("Hello", 2)  # warm-up
        runs = [complete(p, a.tokens) for p in prompts(a.requests)]  # distinct prompts: no prompt-cache reuse
        n_prompt = [len(srv_tokens(client, p)) for p in prompts(a.requests)]
        pt, ps = sum(n_prompt), sum(r[0] for r in runs)
        gt, gs = sum(r[2] for r in runs), sum(r[1] for r in runs)
        gone = srv.exit_reason()
        if gone: raise SystemExit(gone)
    out = {"build": build, "requests": a.requests, "prompt_tokens_per_s": pt / ps, "generated_tokens_per_s": gt / gs,
           "prompt_tokens": int(pt), "generated_tokens": int(gt)}
    print(f"prompt {out['prompt_tokens_per_s']:.0f} tokens/s, generation {out['generated_tokens_per_s']:.1f} tokens/s")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
