"""Throughput and memory of LM.loglikelihood on the default model, against the limit loop and lm-evaluation-harness.

    HF_HUB_OFFLINE=1 VALUEKIT_DATA_DIR=../shared/data .venv/bin/python bench/lm_throughput.py [--skip-cold] [--n 500]

Requests: judge-style yes/no questions built from the mirror's real data (valuekit.data) — FairEval questions with
the first part of each of the four models' answers (320) and UniEval SFRES meaning representations with system
outputs (180): a context of ~40-150 tokens and a one-token continuation, each context distinct (so no contender
gains from shared contexts). Contenders, each in its own subprocess so that peak RSS is its own:

  valuekit   load_lm("default", device="cpu", cache=False).loglikelihood(requests)
  forward    a plain batched transformers loop: requests tokenized as lm-eval does, sorted by length, batches of
             --batch-size, right-padded, body once per sequence, lm_head on the scored positions only (the limit)
  lm_eval    lm-evaluation-harness's HF backend (HFLM, same batch size), if lm_eval is installed

valuekit and the limit loop run in alternating rounds (--rounds, default 2) and keep their fastest; CPU seconds
are reported beside wall seconds (with --threads 1 they measure the work, whatever else loads the machine).
All three must agree within 1e-3 nats per request. Load times: cold = first-ever use (the GGUF assembled,
dequantized and written to safetensors in an empty VALUEKIT_CACHE); warm = load_lm("default") in a fresh process
with the cache in place (torch and transformers imports included, as a notebook would see it; the fastest of three
fresh processes), and the first one-request call after it (which pages the weights in).
The last line printed is one JSON object with every figure.
"""
from __future__ import annotations
import argparse, json, os, resource, subprocess, sys, tempfile, time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent


def build_requests(n: int) -> list[tuple[str, str]]:
    "n distinct (context, continuation) judge requests from FairEval and UniEval (real data via valuekit.data)."
    from valuekit import data
    qs = data.load("faireval", "question.jsonl").set_index("question_id")["text"]
    out = []
    for model in ["gpt35", "vicuna-13b", "alpaca-13b", "gpt-4"]:
        for _, r in data.load("faireval", f"answer/answer_{model}.jsonl").iterrows():
            ans = r["text"][:400].rsplit(" ", 1)[0]
            out.append((f"Question: {qs[r['question_id']]}\nAnswer: {ans}\nIs this answer helpful? Answer:", " Yes" if len(out) % 2 else " No"))
    for _, r in data.load("unieval", "reproduce/data/data2text/sfres.json").iterrows():
        out.append((f"Meaning representation: {r['source']}\nSentence: {r['system_output']}\nIs this sentence fluent? Answer:",
                    " Yes" if len(out) % 2 else " No"))
    out = list(dict.fromkeys(out))  # distinct requests
    if len(out) < n:
        raise SystemExit(f"only {len(out)} distinct requests could be built, fewer than --n {n}")
    return out[:n]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---------------------------------------------------------------------------------------------- contenders
def run_valuekit(reqs, args):
    from valuekit.models import load_lm
    lm = load_lm("default", device="cpu", cache=False)
    lm.progress = False
    lm.loglikelihood(reqs[:4])  # warm-up (first-call allocations)
    t, c = time.perf_counter(), time.process_time()
    ll = lm.loglikelihood(reqs)
    return ll, (time.perf_counter() - t, time.process_time() - c), n_tokens(lm.tokenizer, reqs)


def encode_pairs(tok, reqs):
    "lm-evaluation-harness's tokenization: trailing context whitespace moves to the continuation; split at the context length."
    out = []
    for c, x in reqs:
        k = len(c) - len(c.rstrip())
        if k:
            c, x = c[:-k], c[-k:] + x
        ce, whole = tok(c)["input_ids"], tok(c + x)["input_ids"]
        out.append((ce, whole[len(ce):]))
    return out


def n_tokens(tok, reqs) -> int:
    return sum(len(c) + len(x) for c, x in encode_pairs(tok, reqs))


def run_forward(reqs, args):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from valuekit.hf import default_model_dir
    d = default_model_dir()
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()

    def score(pairs):
        seqs = [(c + x)[:-1] for c, x in pairs]
        T = max(map(len, seqs))
        ids = torch.full((len(seqs), T), tok.pad_token_id, dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, :len(s)] = torch.tensor(s)
        with torch.inference_mode():
            h = model.model(input_ids=ids, use_cache=False).last_hidden_state
            out = []
            for i, (c, x) in enumerate(pairs):
                L = len(c) + len(x) - 1
                logp = torch.log_softmax(model.lm_head(h[i, L - len(x):L]).float(), dim=-1)
                out.append(logp.gather(1, torch.tensor(x)[:, None]).double().sum().item())
        return out

    score(encode_pairs(tok, reqs[:4]))  # warm-up
    t, c = time.perf_counter(), time.process_time()
    pairs = encode_pairs(tok, reqs)
    order = sorted(range(len(pairs)), key=lambda i: -(len(pairs[i][0]) + len(pairs[i][1])))
    ll = [None] * len(pairs)
    for s in range(0, len(order), args.batch_size):
        idx = order[s:s + args.batch_size]
        for i, v in zip(idx, score([pairs[i] for i in idx])):
            ll[i] = v
    return ll, (time.perf_counter() - t, time.process_time() - c), n_tokens(tok, reqs)


def run_lm_eval(reqs, args):
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM
    from valuekit.hf import default_model_dir
    lm = HFLM(pretrained=str(default_model_dir()), device="cpu", batch_size=args.batch_size, dtype="float32")
    inst = lambda rs: [Instance(request_type="loglikelihood", doc={}, arguments=r, idx=i) for i, r in enumerate(rs)]
    lm.loglikelihood(inst(reqs[:4]), disable_tqdm=True)  # warm-up
    t, c = time.perf_counter(), time.process_time()
    res = lm.loglikelihood(inst(reqs), disable_tqdm=True)
    return [float(r[0]) for r in res], (time.perf_counter() - t, time.process_time() - c), n_tokens(lm.tokenizer, reqs)


def run_load(reqs, args):
    "Time load_lm('default') in this fresh process (cold when VALUEKIT_CACHE is empty), then its first one-request call."
    t, c = time.perf_counter(), time.process_time()
    from valuekit.models import load_lm
    lm = load_lm("default", device="cpu", cache=False)
    lm.model  # "default" reads its tokenizer and weights on first use; read them here, so that this times the load
    load, load_cpu = time.perf_counter() - t, time.process_time() - c
    t = time.perf_counter()
    lm.loglikelihood([("The capital of France is", " Paris")])  # pages the weights in, checks the head
    return [time.perf_counter() - t], (load, load_cpu), 0


CONTENDERS = dict(valuekit=run_valuekit, forward=run_forward, lm_eval=run_lm_eval, load=run_load)


def child(args):
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    reqs = [tuple(r) for r in json.loads(Path(args.requests).read_text())]
    ll, (secs, cpu), toks = CONTENDERS[args.child](reqs, args)
    print("RESULT " + json.dumps(dict(ll=ll, seconds=secs, cpu_seconds=cpu, tokens=toks, peak_rss_mb=peak_rss_mb())))


def spawn(name, req_file, args, env=None, timeout=1800):
    cmd = [sys.executable, __file__, "--child", name, "--requests", str(req_file), "--batch-size", str(args.batch_size),
           "--threads", str(args.threads)]
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    lines = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    if p.returncode or not lines:
        raise SystemExit(f"{name} failed (exit {p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


# ---------------------------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500, help="number of requests (>= 500 for the reported figures)")
    ap.add_argument("--batch-size", type=int, default=8, help="batch size of the forward loop and lm-eval")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds of valuekit and the limit loop (fastest kept)")
    ap.add_argument("--skip-cold", action="store_true", help="skip the cold (first-ever) load, ~1 min")
    ap.add_argument("--threads", type=int, default=0, help="torch threads in each contender (0 = torch's default, one per core)")
    ap.add_argument("--child"), ap.add_argument("--requests")
    args = ap.parse_args()
    if args.child:
        return child(args)

    import torch
    from valuekit.hf import default_model_dir
    default_model_dir()  # prepared once, outside the timings
    reqs = build_requests(args.n)
    tmp = Path(tempfile.mkdtemp(prefix="vk-bench-"))
    req_file = tmp / "requests.json"
    req_file.write_text(json.dumps(reqs))
    print(f"{len(reqs)} requests; torch {torch.__version__}, {args.threads or torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")

    def show(name, r):
        print(f"{name:9s} {len(reqs)/r['seconds']:7.2f} requests/s  {r['tokens']/r['seconds']:8.0f} tokens/s  "
              f"peak RSS {r['peak_rss_mb']:6.0f} MB  ({r['seconds']:.1f} s, CPU {r['cpu_seconds']:.1f} s)", flush=True)

    # valuekit and the limit loop alternate for --rounds rounds; each keeps its fastest round (a shared machine's
    # load comes and goes; the fastest round is the least disturbed). lm_eval, ~2.5x slower, runs once.
    res = {}
    for rnd in range(args.rounds):
        for name in (["valuekit", "forward"] if rnd % 2 == 0 else ["forward", "valuekit"]):
            r = spawn(name, req_file, args)
            show(f"{name}", r)
            if name not in res or r["seconds"] < res[name]["seconds"]:
                res[name] = r
    try:
        import lm_eval  # noqa: F401
        has_lm_eval = True
    except ImportError:
        has_lm_eval = False
        print("lm_eval   not installed (pip install 'lm_eval==0.4.*' to compare); skipped")
    if has_lm_eval:
        res["lm_eval"] = r = spawn("lm_eval", req_file, args)
        show("lm_eval", r)

    import numpy as np
    base = np.array(res["valuekit"]["ll"])
    diffs = {k: float(np.abs(np.array(v["ll"]) - base).max()) for k, v in res.items() if k != "valuekit"}
    agree = all(d <= 1e-3 for d in diffs.values())
    print("max |difference| vs valuekit: " + ", ".join(f"{k} {d:.2e}" for k, d in diffs.items()) + ("  (agree within 1e-3)" if agree else "  DISAGREE"))

    loads = [spawn("load", req_file, args) for _ in range(3)]  # the least disturbed of three fresh processes
    w = min(loads, key=lambda r: r["seconds"])
    warm, first_call, warm_cpu = w["seconds"], w["ll"][0], w["cpu_seconds"]
    print("warm loads (s): " + ", ".join(f"{r['seconds']:.1f} (CPU {r['cpu_seconds']:.1f})" for r in loads))
    cold = None
    if not args.skip_cold:
        cold_dir = tmp / "cold-cache"
        cold = spawn("load", req_file, args, env={"VALUEKIT_CACHE": str(cold_dir)})["seconds"]
    print(f"default model load: cold {'skipped' if cold is None else f'{cold:.1f} s'}, warm {warm:.1f} s "
          f"(then the first one-request call {first_call:.1f} s: weights paged in, head checked)")
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)

    v, f = res["valuekit"], res["forward"]
    rps = lambda r: len(reqs) / r["seconds"]
    out = dict(
        n_requests=len(reqs), n_tokens=v["tokens"], batch_size_baselines=args.batch_size,
        requests_per_s=round(rps(v), 3), tokens_per_s=round(v["tokens"] / v["seconds"], 1),
        forward_requests_per_s=round(rps(f), 3), forward_tokens_per_s=round(f["tokens"] / f["seconds"], 1),
        lm_eval_requests_per_s=round(rps(res["lm_eval"]), 3) if has_lm_eval else None,
        ratio_vs_forward=round(rps(v) / rps(f), 3),
        ratio_vs_lm_eval=round(rps(v) / rps(res["lm_eval"]), 3) if has_lm_eval else None,
        ratio_vs_forward_cpu=round(f["cpu_seconds"] / v["cpu_seconds"], 3),
        ratio_vs_lm_eval_cpu=round(res["lm_eval"]["cpu_seconds"] / v["cpu_seconds"], 3) if has_lm_eval else None,
        rounds=args.rounds,
        peak_rss_mb=round(v["peak_rss_mb"]), forward_peak_rss_mb=round(f["peak_rss_mb"]),
        lm_eval_peak_rss_mb=round(res["lm_eval"]["peak_rss_mb"]) if has_lm_eval else None,
        max_abs_diff=diffs, agree_1e3=agree,
        cold_load_s=None if cold is None else round(cold, 2), warm_load_s=round(warm, 2), warm_load_cpu_s=round(warm_cpu, 2), first_call_s=round(first_call, 2),
        torch_threads=args.threads or torch.get_num_threads(), load_avg_1min=round(os.getloadavg()[0], 2),
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
