"""Generation throughput on a judge workload: valuekit's `generate` against plain transformers and llama.cpp's server.

    HF_HUB_OFFLINE=1 VALUEKIT_DATA_DIR=../shared/data .venv/bin/python bench/generate_throughput.py [--n 6] [--k 3] [--threads 2]

The workload is FairEval's MEC judge (valuekit.judges.PAIR_SCORE_MEC_PROMPT) on --n real Vicuna questions from the
data mirror, ChatGPT's answer against Vicuna-13B's: prompts of ~600-1000 tokens, --k sampled evidence replies of 32
tokens per prompt (temperature 1, seeds 0..k-1), and for each a second step (the reply so far + "Score of Assistant 1:",
12 tokens, greedy), as the faireval notebook runs it. Contenders, in this order, in one process (llama.cpp in its own):

  valuekit         load_lm("default", cache=False) through valuekit.judges.score_pairs (prompt prefixes shared)
  valuekit_before  the same with prefix_cache_mb=0: transformers' generate, one row at a time when sampling (what
                   valuekit did before prefixes were shared)
  transformers     a plain batched transformers generate with its KV cache: every prompt in one left-padded batch,
                   num_return_sequences=k, then the second step as one more batch (the limit for this engine when each
                   call reads its prompts afresh)
  llamacpp         llama.cpp's OpenAI-compatible server on the same GGUF (valuekit.openai_lm.llama_cpp_server, all
                   cores), through score_pairs; skipped with a note when llama-cpp-python is not installed (make llama)

Printed for each: wall and CPU seconds (the server's own CPU time for llama.cpp), generated tokens/s and prompt
tokens/s (prompt tokens the engine was asked to continue, summed over requests, whether or not it re-read them). The
last line is one JSON object with every figure and the ratios (> 1: valuekit is faster): ratio_vs_transformers,
ratio_vs_llamacpp and prefix_sharing_speedup (valuekit_before / valuekit) in wall time, the same in CPU seconds
(cpu_ratio_*: on a machine other jobs share, run with --threads 1 and read these), plus how many replies valuekit and
valuekit_before agree on (the same seeds must give the same text).
"""
from __future__ import annotations
import argparse, json, os, tempfile, time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def workload(n: int):
    "The first n FairEval questions with ChatGPT's and Vicuna-13B's answers, as score_pairs rows."
    import pandas as pd
    from valuekit import data
    qs = data.load("faireval", "question.jsonl").set_index("question_id")["text"]
    a = data.load("faireval", "answer/answer_gpt35.jsonl").set_index("question_id")["text"]
    b = data.load("faireval", "answer/answer_vicuna-13b.jsonl").set_index("question_id")["text"]
    ids = list(qs.index[:n])
    return pd.DataFrame({"question": qs[ids].values, "answer_a": a[ids].values, "answer_b": b[ids].values})


def mec_judge():
    from valuekit.judges import PAIR_SCORE_MEC_PROMPT, PairScoreJudge
    return PairScoreJudge(prompt=PAIR_SCORE_MEC_PROMPT, max_new_tokens=32, stop=("\n",), scores_reply="\nScore of Assistant 1:",
                          scores_max_new_tokens=12, scores_stop=("\n\n", "\nScore of Assistant 3"))


def cpu_of(pid: int) -> float:
    "User + system CPU seconds of a process (Linux /proc)."
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def via_score_pairs(lm, rows, k):
    "Replies (evidence + scores) and the prompts the engine was asked to continue."
    from valuekit.judges import score_pairs
    judge = mec_judge()
    df = score_pairs(lm, rows, judge, k=k, orders=("ab",), temperature=1.0, seed=0)
    prompts = judge.prompt.render(lm, [dict(question=r.question, answer_1=r.answer_a, answer_2=r.answer_b, low=1, high=10)
                                       for r in rows.itertuples()])
    texts = list(df.text)
    asked = [prompts[i] for i in df.item] + [prompts[i] + t.split(judge.scores_reply)[0] + judge.scores_reply
                                            for i, t in zip(df.item, texts)]
    return texts, asked


def run_valuekit(rows, k, prefix_cache_mb):
    from valuekit.models import load_lm
    lm = load_lm("default", device="cpu", cache=False, prefix_cache_mb=prefix_cache_mb)
    lm.progress = False
    lm.generate(["Warm-up:"], max_new_tokens=2)
    t, c = time.perf_counter(), time.process_time()
    texts, asked = via_score_pairs(lm, rows, k)
    return texts, asked, time.perf_counter() - t, time.process_time() - c


def run_transformers(rows, k):
    "A plain batched transformers generate: all prompts left-padded in one batch, k return sequences, then the scores step."
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from valuekit.hf import default_model_dir
    d = default_model_dir()
    tok = AutoTokenizer.from_pretrained(d, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
    judge = mec_judge()
    prompts = judge.prompt.render(None, [dict(question=r.question, answer_1=r.answer_a, answer_2=r.answer_b, low=1, high=10)
                                         for r in rows.itertuples()])

    def gen(texts, n, **kw):
        enc = tok(texts, return_tensors="pt", padding=True)
        with torch.inference_mode():
            out = model.generate(**enc, num_return_sequences=n, pad_token_id=tok.pad_token_id, tokenizer=tok, **kw)
        return tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)

    cut = lambda t, stops: min([t] + [t[:t.find(s)] for s in stops if s in t], key=len)
    gen(["Warm-up:"], 1, max_new_tokens=2, do_sample=False)
    t, c = time.perf_counter(), time.process_time()
    torch.manual_seed(0)
    first = [cut(x, judge.stop) for x in gen(prompts, k, max_new_tokens=32, do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                                              stop_strings=list(judge.stop))]
    seconds = [prompts[i // k] + x + judge.scores_reply for i, x in enumerate(first)]
    more = [cut(x, judge.scores_stop) for x in gen(seconds, 1, max_new_tokens=12, do_sample=False, temperature=None, top_k=None,
                                                   top_p=None, stop_strings=list(judge.scores_stop))]
    texts = [x + judge.scores_reply + m for x, m in zip(first, more)]
    asked = [prompts[i // k] for i in range(len(first))] + seconds
    return texts, asked, time.perf_counter() - t, time.process_time() - c


def run_llamacpp(rows, k, threads):
    from valuekit.hf import default_gguf_path
    from valuekit.models import load_lm
    from valuekit.openai_lm import llama_cpp_server
    log = Path(tempfile.mkdtemp())/"llama.log"
    with llama_cpp_server(default_gguf_path(), log, n_ctx=4096, n_threads=threads) as server:
        lm = load_lm("openai:default", base_url=server.base_url, cache=False, server=server)
        lm.progress = False
        lm.generate(["Warm-up:"], max_new_tokens=2)
        t, c = time.perf_counter(), cpu_of(server.process.pid)
        texts, asked = via_score_pairs(lm, rows, k)
        return texts, asked, time.perf_counter() - t, cpu_of(server.process.pid) - c


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=6, help="questions (prompts)")
    ap.add_argument("--k", type=int, default=3, help="sampled replies per prompt")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads and llama.cpp threads")
    ap.add_argument("--skip", nargs="*", default=[], help="contenders to leave out")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    from transformers import AutoTokenizer
    from valuekit.hf import default_model_dir
    tok = AutoTokenizer.from_pretrained(default_model_dir())
    rows = workload(args.n)
    runs, notes = {}, {}
    contenders = {"valuekit": lambda: run_valuekit(rows, args.k, 1024), "valuekit_before": lambda: run_valuekit(rows, args.k, 0),
                  "transformers": lambda: run_transformers(rows, args.k), "llamacpp": lambda: run_llamacpp(rows, args.k, args.threads)}
    for name, fn in contenders.items():
        if name in args.skip: continue
        try: texts, asked, wall, cpu = fn()
        except Exception as e:  # a missing llama.cpp build is a note, not a crash
            notes[name] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"; print(f"{name}: not run ({notes[name]})"); continue
        gen_tokens = sum(len(x) for x in tok(texts, add_special_tokens=False)["input_ids"])
        prompt_tokens = sum(len(x) for x in tok(asked)["input_ids"])
        runs[name] = dict(wall_s=round(wall, 2), cpu_s=round(cpu, 2), generated_tokens=gen_tokens, prompt_tokens=prompt_tokens,
                          tokens_per_s=round(gen_tokens / wall, 2), prompt_tokens_per_s=round(prompt_tokens / wall, 1), texts=texts)
        print(f"{name:>16}: {wall:7.1f} s wall, {cpu:7.1f} s CPU, {gen_tokens} tokens generated ({gen_tokens / wall:.1f}/s), "
              f"{prompt_tokens} prompt tokens ({prompt_tokens / wall:.0f}/s)", flush=True)
    ratio = lambda a, b, t="wall_s": round(runs[a][t] / runs[b][t], 3) if a in runs and b in runs else None
    out = dict(n_prompts=args.n, k=args.k, threads=args.threads, notes=notes,
               ratio_vs_transformers=ratio("transformers", "valuekit"), ratio_vs_llamacpp=ratio("llamacpp", "valuekit"),
               prefix_sharing_speedup=ratio("valuekit_before", "valuekit"),
               # in CPU seconds: the work itself, whatever else ran on the machine (with --threads 1 no thread waits spinning)
               cpu_ratio_vs_transformers=ratio("transformers", "valuekit", "cpu_s"), cpu_ratio_vs_llamacpp=ratio("llamacpp", "valuekit", "cpu_s"),
               cpu_prefix_sharing_speedup=ratio("valuekit_before", "valuekit", "cpu_s"))
    if "valuekit" in runs and "valuekit_before" in runs:
        a, b = runs["valuekit"]["texts"], runs["valuekit_before"]["texts"]
        out["same_replies_as_before"] = f"{sum(x == y for x, y in zip(a, b))}/{len(a)}"
    for r in runs.values(): r.pop("texts")
    out["runs"] = runs
    print(json.dumps(out))


if __name__ == "__main__":
    main()
