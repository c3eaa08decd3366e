"""The server backend against a REAL OpenAI-compatible server: llama.cpp's Python server serving the default GGUF.

Run: make test-server  (installs llama-cpp-python[server] if missing, ~5 min build on 2 cores), or
     HF_HUB_OFFLINE=1 .venv/bin/pytest tests/test_openai_server.py
The test starts `python -m llama_cpp.server` on 127.0.0.1 on a free port and stops it at the end. It fails (does not
skip) when llama_cpp is not installed. llama-cpp-python's server computes the top log-probs of every echoed token in
Python over the 262k vocabulary (about 0.2 s per token on 2 cores), so requests here are kept short.
"""
import os, socket
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest

from valuekit.models import ModelError, load_lm

REQS = [("The capital of France is", " Paris"), ("The capital of France is", " Lyon"),
        ("Question: Is the sky blue?\nAnswer:", " Yes"), ("Question: Is the sky blue?\nAnswer:", " No"),
        ("Rating (1-10):", " 10"), ("Once upon a time", " there was a princess")]
# llama.cpp computes Q4_K_M matmuls on 8-bit-quantized activations; the transformers path runs float32 on the
# dequantized weights: the same model, different kernels, not the same numbers. Measured on 14 requests (2026-11):
# median 0.05 nat per continuation token, likely tokens (log p > -3) within 0.09, unlikely ones (p ~ 1e-3) up to
# 0.29. The tolerances below say that.
MEDIAN_NAT_PER_TOKEN, LIKELY_NAT_PER_TOKEN, MAX_NAT_PER_TOKEN = 0.1, 0.1, 0.35


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from valuekit.hf import default_gguf_path
    from valuekit.openai_lm import llama_cpp_server
    log = tmp_path_factory.mktemp("server") / "server.log"
    try:
        srv = llama_cpp_server(default_gguf_path(), log, alias="gemma-3-270m", n_ctx=2048)
    except ModelError as e:
        pytest.fail(f"llama.cpp's server: {e}", pytrace=False)
    try:
        # one short completion first: a build for instructions this CPU does not run dies here (SIGILL), and every
        # test would otherwise fail with a connection error
        try:
            load_lm("openai:gemma-3-270m", base_url=srv.base_url, server=srv, cache=False, max_retries=0).generate(["Hi"], max_new_tokens=1)
        except ModelError as e:
            pytest.fail(f"llama.cpp's server died on its first request — is llama-cpp-python built for this CPU? "
                        f"(`make llama` builds it portable; see LLAMA_CMAKE_ARGS in the Makefile)\n{e}", pytrace=False)
        yield srv.base_url
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def slm(server, tmp_path_factory):
    return load_lm("openai:gemma-3-270m", base_url=server, cache=tmp_path_factory.mktemp("c") / "lm.sqlite")


@pytest.fixture(scope="module")
def hf():
    return load_lm("default", device="cpu", cache=False)


def test_loglikelihood_close_to_transformers(slm, hf):
    got, want = np.array(slm.loglikelihood(REQS)), np.array(hf.loglikelihood(REQS))
    n_tok = np.array([len(it.cont) for it in hf._prepare_ll(REQS)])
    assert np.all(np.isfinite(got)) and np.all(got < 0)
    per_token = np.abs(got - want) / n_tok
    assert np.median(per_token) <= MEDIAN_NAT_PER_TOKEN, per_token
    assert np.all(per_token[want / n_tok > -3] <= LIKELY_NAT_PER_TOKEN), per_token
    assert np.all(per_token <= MAX_NAT_PER_TOKEN), per_token
    assert got[0] > got[1] and got[2] > got[3]  # same preferences: " Paris" over " Lyon", " Yes" over " No"


def test_cache_answers_without_the_server(slm):
    before = slm.cache.stats()["hits"]
    slm.loglikelihood(REQS[:2])
    assert slm.cache.stats()["hits"] - before == 2


def test_next_token_dist_and_choice_probs(slm):
    d = slm.next_token_dist(["Question: Is the sky blue?\nAnswer:"], [" Yes", " No"])
    assert d.shape == (1, 2) and abs(d.sum() - 1) < 1e-9 and 0 < d.covered[0] < 1
    ll = slm.loglikelihood([("Question: Is the sky blue?\nAnswer:", " Yes"), ("Question: Is the sky blue?\nAnswer:", " No")])
    # the server backend's next_token_dist IS loglikelihood over the candidates (answered from the cache here): same numbers
    np.testing.assert_allclose(d.covered[0], np.exp(ll).sum(), rtol=1e-9)
    p = slm.choice_probs("The capital of France is", [" Paris", " Lyon"])
    assert abs(p.sum() - 1) < 1e-12 and p[0] > p[1]


def test_generate_greedy_and_stop(slm):
    a = slm.generate(["The capital of France is"], max_new_tokens=12)
    slm.cache.clear()
    b = slm.generate(["The capital of France is"], max_new_tokens=12)
    assert a == b and a[0]
    s = slm.generate(["The capital of France is"], max_new_tokens=12, stop=["."])
    assert "." not in s[0]


def test_chat_returns_text(slm):
    assert isinstance(slm.chat([{"role": "user", "content": "Say hello."}], max_new_tokens=8), str)


def test_api_key_stays_out(server, tmp_path, monkeypatch):
    monkeypatch.setenv("VALUEKIT_OPENAI_API_KEY", "sk-valuekit-test-secret")
    lm = load_lm("openai:gemma-3-270m", base_url=server, cache=tmp_path / "c.sqlite")
    lm.loglikelihood(REQS[:1])
    shown = repr(lm) + lm.fingerprint + lm.device + str(lm.cache.stats())
    assert "sk-valuekit" not in shown
    for f in tmp_path.glob("c.sqlite*"):  # the database and its write-ahead log
        assert b"sk-valuekit" not in f.read_bytes()


def test_endpoint_without_completions_is_a_clear_not_implemented(server):
    lm = load_lm("openai:gemma-3-270m", base_url=server + "/nothing-here", cache=False, max_retries=0)
    with pytest.raises(NotImplementedError, match="cannot score text"):
        lm.loglikelihood(REQS[:1])


def test_server_down_is_a_clear_error():
    lm = load_lm("openai:gemma-3-270m", base_url=f"http://127.0.0.1:{_free_port()}/v1", cache=False, max_retries=0, timeout=5)
    with pytest.raises(ModelError, match="cannot reach the server"):
        lm.loglikelihood(REQS[:1])


def test_valuekit_serve_is_found_by_openai_default():
    "`valuekit serve` (make serve) serves the default GGUF; load_lm('openai:default') finds it; Ctrl-C stops it and removes the record."
    import signal, subprocess, sys, time
    from valuekit.openai_lm import served_base_url, served_path
    cmd = [str(Path(sys.executable).parent / "valuekit"), "serve", "--port", str(_free_port()), "--threads", "2", "--n-ctx", "512"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = p.stdout.readline()  # printed once the server answers
        assert "valuekit serve: the default model at http://127.0.0.1:" in first, first + (p.stdout.read() if p.poll() is not None else "")
        url = first.split(" at ")[1].split()[0]
        assert served_base_url("default") == url
        lm = load_lm("openai:default", cache=False, max_retries=0)
        assert lm.base_url == url
        assert isinstance(lm.generate(["The capital of France is"], max_new_tokens=3)[0], str)
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=60) == 0
        assert "stopping the server" in p.stdout.read()
        assert served_base_url("default") is None and not served_path().exists()
    finally:
        if p.poll() is None: p.kill()
