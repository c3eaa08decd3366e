"""valuekit.models on the real default model (Gemma-3-270M base, dequantized from the packaged GGUF).

Run: HF_HUB_OFFLINE=1 .venv/bin/pytest tests/test_models.py   (the default model must be prepared: `valuekit prepare`)
The model is loaded once per session; fast unit tests on the tiny random model live in nbs/00_models.ipynb and
nbs/00a_hf.ipynb.
"""
import copy, math, os, sqlite3, subprocess, sys, warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch

from valuekit.models import LM, LMCache, ModelError, TokenDist, load_lm, open_cache

REQS = [
    ("The capital of France is", " Paris"),
    ("The capital of France is", " Lyon"),
    ("Question: Is the sky blue on a clear day?\nAnswer:", " Yes"),
    ("Question: Is the sky blue on a clear day?\nAnswer:", " No"),
    ("Score: ", "7"),  # trailing space moves into the continuation
    ("Rate the answer from 1 to 10.\nRating:", " 10"),
    ("", "Hello world"),  # empty context: scored after BOS
    ("Translate to French: cheese =>", " fromage, which is made from milk."),
    ("Once upon a time, in a small village by the sea, there lived an old fisherman who", " went out every morning before dawn"),
    ("def add(a, b):\n    return", " a + b"),
    ("The quick brown fox", " jumps over the lazy dog."),
    ("1, 2, 3, 4,", " 5, 6"),
]


@pytest.fixture(scope="session")
def lm(tmp_path_factory):
    return load_lm("default", device="cpu", cache=tmp_path_factory.mktemp("cache") / "lm.sqlite")


def variant(lm, batch_size, cache=False):
    "The same loaded model with another batch size and cache (shares the weights)."
    v = copy.copy(lm)
    v.batch_size, v.cache = batch_size, open_cache(cache)
    return v


def by_hand(lm, context, continuation):
    "log P(continuation | context) with a plain transformers forward pass and full logits, lm-eval's tokenization."
    tok, model = lm.tokenizer, lm.model
    n = len(context) - len(context.rstrip())
    if n:
        context, continuation = context[:-n], context[-n:] + continuation
    ctx = tok(context)["input_ids"]
    whole = tok(context + continuation)["input_ids"]
    ids = torch.tensor([ctx + whole[len(ctx):]])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].double(), dim=-1)
    targets = ids[0, len(ctx):]
    return logp[len(ctx) - 1:].gather(1, targets[:, None]).sum().item()


def test_loglikelihood_matches_plain_transformers(lm):
    got = variant(lm, "auto").loglikelihood(REQS)
    want = [by_hand(lm, c, x) for c, x in REQS]
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
    assert got[0] > got[1]  # Paris beats Lyon, a sanity check on the model itself


def test_batch_sizes_agree(lm):
    one = variant(lm, 1).loglikelihood(REQS)
    sixteen = variant(lm, 16).loglikelihood(REQS)
    np.testing.assert_allclose(one, sixteen, atol=1e-4, rtol=0)


def test_next_token_dist_ratings(lm):
    prompts = ["Rate the answer from 1 to 10.\nRating:", "Score (1-10):"]
    cands = [str(i) for i in range(1, 11)]
    d = lm.next_token_dist(prompts, cands)
    assert isinstance(d, np.ndarray) and isinstance(d, TokenDist) and d.shape == (2, 10)
    np.testing.assert_allclose(d.sum(axis=1), 1.0, atol=1e-9)  # a float64 renormalisation of the same numbers
    assert np.all(d.covered > 0) and np.all(np.isfinite(d.covered))
    # the same numbers one request at a time (no shared forward passes, no batching)
    ll = np.array(variant(lm, 1).loglikelihood([(p, c) for p in prompts for c in cands])).reshape(2, 10)
    np.testing.assert_allclose(d.covered, np.exp(ll).sum(axis=1), rtol=1e-4)
    np.testing.assert_allclose(d, np.exp(ll) / np.exp(ll).sum(axis=1, keepdims=True), atol=1e-5)


def test_choice_probs(lm):
    p = lm.choice_probs("The capital of France is", [" Paris", " Lyon", " Berlin"])
    assert p.shape == (3,) and abs(p.sum() - 1) < 1e-12 and p.argmax() == 0
    pn = lm.choice_probs("The capital of France is", [" Paris", " Lyon", " Berlin"], normalize="length")
    assert abs(pn.sum() - 1) < 1e-12 and not np.allclose(p, pn)
    with pytest.raises(ValueError, match="at least two"):
        lm.choice_probs("Q", ["only one"])


def test_generate_greedy_is_deterministic(lm):
    prompts = ["The capital of France is", "Once upon a time"]
    a = variant(lm, "auto").generate(prompts, max_new_tokens=8)
    b = variant(lm, "auto").generate(prompts, max_new_tokens=8)
    c = variant(lm, "auto").generate(prompts[1:], max_new_tokens=8)  # alone, without a left-padded neighbour
    assert a == b and c[0] == a[1] and all(isinstance(t, str) and t for t in a)
    s = variant(lm, "auto").generate(prompts[1:], max_new_tokens=10, stop=[","])
    assert "," not in s[0] and a[1].startswith(s[0])


def test_sampling_is_reproducible_with_a_seed(lm):
    v = variant(lm, "auto")
    a = v.generate(["Once upon a time"], max_new_tokens=10, temperature=1.0, seed=1)
    assert a == v.generate(["Once upon a time"], max_new_tokens=10, temperature=1.0, seed=1)


def test_chat_without_template_uses_plain_format(lm):
    assert not lm.has_chat_template  # Gemma-3-270M base ships none
    msgs = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "What is the capital of France?"}]
    assert lm.format_chat(msgs) == "Answer briefly.\n\nUser: What is the capital of France?\n\nAssistant:"
    reply = variant(lm, "auto").chat(msgs, max_new_tokens=16)
    assert isinstance(reply, str) and "User:" not in reply


def test_cache_hits_and_interrupted_run_resumes_identically(lm, tmp_path):
    reqs = [(f"Item {i}: the answer is", f" {w}") for i, w in enumerate(["yes", "no", "maybe", "often", "never"] * 4)]
    full = variant(lm, 4).loglikelihood(reqs)  # uncached reference

    v = variant(lm, 4, cache=tmp_path / "c.sqlite")
    real, calls = v._ll_batch, []

    def flaky(items):
        if len(calls) == 2:
            raise KeyboardInterrupt  # interrupted after two batches
        calls.append(len(items))
        return real(items)

    v._ll_batch = flaky
    with pytest.raises(KeyboardInterrupt):
        v.loglikelihood(reqs)
    assert v.cache.stats()["entries"] == 8
    v._ll_batch = real
    resumed = v.loglikelihood(reqs)
    assert resumed == full  # bit-identical: same batches, cached floats read back exactly
    assert v.cache.hits == 8
    again = v.loglikelihood(reqs)
    assert again == full and v.cache.hits == 8 + len(reqs)


def test_corrupt_cache_entry_is_reported_and_recomputed(lm, tmp_path):
    v = variant(lm, "auto", cache=tmp_path / "c.sqlite")
    first = v.loglikelihood(REQS[:3])
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        db.execute("UPDATE answers SET value = '0.0' WHERE rowid = (SELECT MIN(rowid) FROM answers)")
    with pytest.warns(UserWarning, match="corrupt"):
        again = v.loglikelihood(REQS[:3])
    # the corrupt entry is recomputed alone (another batch shape than the first call): float32 tolerance
    assert again == pytest.approx(first, abs=1e-5) and 0.0 not in again
    assert v.cache.stats()["corrupt"] == 1


def test_tokenizer_matches_auto_tokenizer(lm):
    "The default model's tokenizer, read straight from tokenizer.json, encodes and decodes as AutoTokenizer does."
    from transformers import AutoTokenizer
    from valuekit import data
    from valuekit.hf import default_model_dir
    auto = AutoTokenizer.from_pretrained(default_model_dir())
    texts = list(data.load("faireval", "answer/answer_gpt-4.jsonl").text[:40]) + [c + x for c, x in REQS]
    texts += ["<bos>already", " leading", "émoji 🎉 中文", "a\n\n  b\t", ""]
    for t in texts:
        ids = auto(t)["input_ids"]
        assert lm.tokenizer(t)["input_ids"] == ids, t[:60]
        assert lm.tokenizer.decode(ids, skip_special_tokens=True) == auto.decode(ids, skip_special_tokens=True)
    assert (lm.tokenizer.bos_token_id, lm.tokenizer.eos_token_id, lm.tokenizer.pad_token_id) == (auto.bos_token_id, auto.eos_token_id, auto.pad_token_id)


def test_fingerprint(lm):
    name, digest = lm.fingerprint.split("@sha256:")
    assert name == "gemma-3-270m-q4_k_m" and len(digest) == 64
    assert lm.device == "cpu" and lm.dtype == "float32"


def test_bad_input(lm):
    assert lm.loglikelihood([]) == []
    assert lm.next_token_dist([], ["1", "2"]).shape == (0, 2)
    with pytest.raises(ValueError, match="tokenizes to nothing"):
        lm.loglikelihood([("Hello wor", "ld")])  # "ld" merges into the context's "▁wor" -> "▁world"
    with pytest.raises(ValueError, match="empty continuation"):
        lm.loglikelihood([("Hello", "")])
    with pytest.raises(TypeError, match="list of strings"):
        lm.next_token_dist("Rating:", ["1", "2"])


def test_unknown_model_offline_is_one_clear_message():
    with pytest.raises(ModelError) as e:
        load_lm("no-such-org/no-such-model-xyz", device="cpu")
    msg = str(e.value)
    assert "not cached locally" in msg and "HF_HUB_OFFLINE" in msg and "\n" not in msg
    assert e.value.__cause__ is None and (e.value.__context__ is None or e.value.__suppress_context__)


def test_cuda_without_gpu_is_an_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ModelError, match="no CUDA GPU"):
        load_lm("tiny", device="cuda")


def test_import_is_light():
    code = "import sys, valuekit.models; print(int('torch' in sys.modules), int('transformers' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0"]


def test_default_conversion_is_atomic(tmp_path, monkeypatch):
    "An interrupted first conversion leaves neither a half model directory nor its temporary directory."
    import transformers
    from valuekit import hf

    monkeypatch.setenv("VALUEKIT_CACHE", str(tmp_path))

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", interrupted)
    with pytest.raises(KeyboardInterrupt):
        hf.default_model_dir()
    models = tmp_path / "models"
    assert not (models / hf.DEFAULT_MODEL).exists()
    assert not list(models.glob(".tmp-*"))
    assert (models / "gemma-3-270m-q4_k_m.gguf").exists()  # the assembled GGUF is complete and kept
