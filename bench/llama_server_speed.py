"""Completion speed of llama.cpp's server on the default GGUF, for comparing builds of llama-cpp-python.

    HF_HUB_OFFLINE=1 VALUEKIT_DATA_DIR=../shared/data .venv/bin/python bench/llama_server_speed.py [--requests 6] [--tokens 64]

Starts the server (valuekit.openai_lm.llama_cpp_server) with whichever llama_cpp this Python imports — put another
build first on PYTHONPATH to measure it (e.g. `pip install --target /tmp/native <wheel>`, then
PYTHONPATH=/tmp/native) — and sends judge prompts from the data mirror (FairEval questions with both answers, about
700 tokens) one at a time: greedy, --tokens new tokens each, no stop. Prints the build's instruction sets, then
prompt and generated tokens per second, from the server's usage counts and the wall time of each request: --requests
one-token requests measure prompt processing, as many others (other prompts) generate, and their prompts' share of
the time is taken off at the measured prompt rate. Last line: one JSON object.
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
            t = time.perf_counter()
            r = client.completions.create(model="default", prompt=p, max_tokens=n, temperature=0)
            return time.perf_counter() - t, r.usage.prompt_tokens, r.usage.completion_tokens
        complete("Hello", 1)  # warm-up
        ps_ = prompts(2 * a.requests)  # distinct prompts: the server's prompt cache cannot help
        runs = [complete(p, 1) for p in ps_[:a.requests]]  # prompt processing (and one token)
        pt, ps = sum(r[1] for r in runs), sum(r[0] for r in runs)
        full = [complete(p, a.tokens) for p in ps_[a.requests:]]
        gt = sum(r[2] for r in full)
        gs = sum(r[0] for r in full) - sum(r[1] for r in full) / (pt / ps)  # minus the prompts' share at the measured rate
        gone = srv.exit_reason()
        if gone: raise SystemExit(gone)
    out = {"build": build, "requests": a.requests, "prompt_tokens_per_s": pt / ps, "generated_tokens_per_s": gt / gs,
           "prompt_tokens": int(pt), "generated_tokens": int(gt)}
    print(f"prompt {out['prompt_tokens_per_s']:.0f} tokens/s, generation {out['generated_tokens_per_s']:.1f} tokens/s")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
