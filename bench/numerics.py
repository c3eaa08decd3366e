"""How far model-run numbers move with the batch size and the thread count (float32 on CPU).

    HF_HUB_OFFLINE=1 VALUEKIT_DATA_DIR=../shared/data .venv/bin/python bench/numerics.py [--n 120]

The requests are the judge-style yes/no requests of bench/lm_throughput.py (FairEval answers and UniEval SFRES
outputs from the data mirror). Each configuration runs in a fresh process: batch size 16 with 2 threads (the
reference), batch size 1 with 2 threads, batch size 16 with 1 thread. Printed: the largest absolute difference of a
log-likelihood (nats) and of the continuation's probability from the reference. The last line is one JSON object.
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
CONFIGS = {"batch 16, 2 threads": (16, 2), "batch 1, 2 threads": (1, 2), "batch 16, 1 thread": (16, 1)}


def worker(batch_size: int, threads: int, n: int) -> list[float]:
    "Log-likelihoods of the requests, computed in this process with the given batch size and thread count."
    import torch
    torch.set_num_threads(threads)
    sys.path.insert(0, str(HERE))
    from lm_throughput import build_requests
    from valuekit.models import load_lm
    lm = load_lm("default", device="cpu", cache=False, batch_size=batch_size)
    return lm.loglikelihood(build_requests(n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=120, help="requests")
    ap.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(*a.worker, a.n)))
        return
    import numpy as np
    got = {}
    for name, (bs, th) in CONFIGS.items():
        out = subprocess.run([sys.executable, __file__, "--n", str(a.n), "--worker", str(bs), str(th)],
                             capture_output=True, text=True, check=True)
        got[name] = np.array(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"{name}: {len(got[name])} log-likelihoods", flush=True)
    ref = got["batch 16, 2 threads"]
    figures = {}
    for name, ll in got.items():
        if ll is ref: continue
        figures[name] = {"max_abs_loglik_diff": float(np.max(np.abs(ll - ref))),
                         "max_abs_prob_diff": float(np.max(np.abs(np.exp(ll) - np.exp(ref))))}
        print(f"{name} vs batch 16, 2 threads: max |d loglik| = {figures[name]['max_abs_loglik_diff']:.2e} nats, "
              f"max |d p| = {figures[name]['max_abs_prob_diff']:.2e}")
    print(json.dumps({"requests": len(ref), **figures}))


if __name__ == "__main__":
    main()
