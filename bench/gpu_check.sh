#!/usr/bin/env bash
# GPU check for valuekit.models, one call, under 8 minutes: the default model (Gemma-3-270M) on CUDA.
#   bash bench/gpu_check.sh            (needs a CUDA build of torch in .venv, or PY=/path/to/python)
# 1. scores 512 fixed requests on CUDA in float32 and checks them against the CPU within 1e-3 nats;
# 2. prints CUDA throughput in float32 and in bfloat16 (the default dtype on CUDA) and bf16's difference from the
#    CPU (informational: bf16 logits carry ~3 significant digits);
# 3. checks next_token_dist rows sum to 1 and greedy generation is deterministic on CUDA.
# The default model is converted on first use (about a minute). Needs no network and no data mirror.
# Exit status 0 = all checks passed; the last line is one JSON object with the figures.
# Self-test of this script without a GPU: GPU_CHECK_DEVICE=cpu GPU_CHECK_N=24 bash bench/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec timeout 470 "$PY" - <<'EOF'
import json, os, sys, time
import numpy as np, torch

DEV, N = os.environ.get("GPU_CHECK_DEVICE", "cuda"), int(os.environ.get("GPU_CHECK_N", "512"))
cuda = DEV.startswith("cuda")
if cuda and not torch.cuda.is_available():
    sys.exit(f"gpu_check: torch {torch.__version__} sees no CUDA GPU (a CPU-only build, or no driver); "
             "install a CUDA build of torch in this environment (make install TORCH_SPEC=torch) and rerun")
from valuekit.models import load_lm, TokenDist
from valuekit.hf import default_model_dir

t = time.time(); default_model_dir(); print(f"default model ready ({time.time() - t:.0f} s)", flush=True)

# 512 fixed, distinct requests: judge-style yes/no and rating questions with contexts of varied length
topics = ["the water cycle", "photosynthesis", "the French Revolution", "binary search", "inflation", "the immune system",
          "plate tectonics", "the printing press", "compound interest", "black holes", "the Roman Empire", "vaccines",
          "machine translation", "climate change", "the stock market", "DNA replication"]
reqs = []
for i in range(N):
    topic = topics[i % len(topics)]
    body = " ".join(f"Point {k + 1}: {topic} matters for reason number {k + 1}." for k in range(1 + i % 23))
    if i % 2:
        reqs.append((f"Question: Explain {topic}.\nAnswer: {body}\nIs this answer helpful? Answer:", " Yes" if i % 4 == 1 else " No"))
    else:
        reqs.append((f"Question: Explain {topic}.\nAnswer: {body}\nRate the answer from 1 to 10.\nRating:", f" {1 + i % 10}"))
assert len(set(reqs)) == len(reqs)

def timed(lm, rs):
    lm.loglikelihood(rs[:8])  # warm-up: kernels, allocator
    if cuda: torch.cuda.synchronize()
    t = time.perf_counter(); ll = lm.loglikelihood(rs)
    if cuda: torch.cuda.synchronize()
    return np.array(ll), time.perf_counter() - t

ref_n = min(96, N)
cpu = load_lm("default", device="cpu", cache=False); cpu.progress = False
ref, cpu_s = timed(cpu, reqs[:ref_n]); del cpu
print(f"cpu  float32: {ref_n / cpu_s:8.1f} requests/s on {torch.get_num_threads()} threads (reference, {ref_n} requests)", flush=True)

out, ok = dict(gpu=torch.cuda.get_device_name(0) if cuda else DEV, torch=torch.__version__, n_requests=len(reqs), cpu_requests_per_s=round(ref_n / cpu_s, 2)), True
for dtype in (["float32", "bfloat16"] if cuda else ["float32"]):
    lm = load_lm("default", device=DEV, dtype=dtype, cache=False); lm.progress = False
    if cuda: torch.cuda.reset_peak_memory_stats()
    ll, s = timed(lm, reqs)
    diff = float(np.abs(ll[:ref_n] - ref).max())
    toks = sum(len(it.ctx) + len(it.cont) for it in lm._prepare_ll(reqs))
    mem = torch.cuda.max_memory_allocated() / 2**20 if cuda else float("nan")
    print(f"{DEV} {dtype:8s}: {len(reqs) / s:8.1f} requests/s {toks / s:10.0f} tokens/s  peak GPU memory "
          f"{mem:6.0f} MiB  max |diff| vs cpu {diff:.2e}", flush=True)
    out[f"{dtype}_requests_per_s"], out[f"{dtype}_tokens_per_s"], out[f"{dtype}_max_abs_diff_vs_cpu"] = round(len(reqs) / s, 1), round(toks / s), diff
    if dtype == "float32":
        if not (np.all(np.isfinite(ll)) and diff <= 1e-3):
            ok = False; print(f"FAIL: {DEV} float32 differs from CPU by {diff:.2e} > 1e-3", flush=True)
        d = lm.next_token_dist([r[0] for r in reqs[:16:2]], [str(k) for k in range(1, 11)])
        sums_ok = isinstance(d, TokenDist) and np.allclose(d.sum(axis=1), 1, atol=1e-9) and np.all(d.covered > 0)
        g1 = lm.generate(["The capital of France is", "Once upon a time"], max_new_tokens=16)
        g2 = lm.generate(["The capital of France is", "Once upon a time"], max_new_tokens=16)
        out["next_token_dist_ok"], out["generate_deterministic"] = bool(sums_ok), g1 == g2
        ok = ok and sums_ok and g1 == g2
        print(f"next_token_dist rows sum to 1: {sums_ok}; greedy generate deterministic: {g1 == g2} {g1}", flush=True)
    del lm
    if cuda: torch.cuda.empty_cache()
out["ok"] = ok
print("PASS" if ok else "FAIL")
print(json.dumps(out))
sys.exit(0 if ok else 1)
EOF
