"""Judges on the real data in the mirror, driven by deterministic stand-in models whose right answers we know, and
(when `valuekit.models` is installed) one short end-to-end run on the real default model."""
import itertools
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from valuekit import judges as J
from valuekit import metrics as M
from valuekit.data import fetch, load, load_json


class Dist(np.ndarray):
    pass


class ScriptedLM:
    "LM-contract stand-in: `masses(prompt, candidate)` and `reply(prompt, seed)` decide everything."
    name = fingerprint = "scripted"
    device = "cpu"

    def __init__(self, masses=None, reply=None):
        self.masses, self.reply = masses, reply

    def next_token_dist(self, prompts, candidates):
        m = np.array([[self.masses(p, c) for c in candidates] for p in prompts], float)
        d = (m / m.sum(1, keepdims=True)).view(Dist)
        d.covered = m.sum(1)
        return d

    def generate(self, prompts, max_new_tokens=64, temperature=0.0, seed=None, stop=None):
        return [self.reply(p, seed) for p in prompts]

    def format_chat(self, messages):
        return "\n".join(m["content"] for m in messages)


# --- TrustJudge demo data: 2 questions x 10 answers with known quality levels 1-5 -----------------------------

@pytest.fixture(scope="module")
def trust_pairs():
    rows = load("trustjudge", "trustjudge/data/answers/filtered_selected_answers.jsonl")
    cands = [(r.question_id, r.question, a["score"], t) for r in rows.itertuples() for a in r.answers for t in a["text"]]
    level = {t: s for _, _, s, t in cands}
    pairs = []
    for qid, grp in itertools.groupby(cands, key=lambda c: c[0]):
        grp = list(grp)
        for (i, x), (j, y) in itertools.combinations(enumerate(grp), 2):
            pairs.append({"group": qid, "a": i, "b": j, "question": x[1], "answer_a": x[3], "answer_b": y[3]})
    return pd.DataFrame(pairs), level


def _shown(prompt):
    m = re.search(r"Answer A: (.*)\n\nAnswer B: (.*)\n\nVerdict: \[$", prompt, flags=re.S)
    return m.group(1), m.group(2)


def test_trustjudge_consistent_judge_is_transitive(trust_pairs):
    "A judge that prefers the higher quality level (tie on equal levels) has NTR_k = 0 and no score-comparison conflict."
    pairs, level = trust_pairs
    assert len(pairs) == 2 * 45

    def masses(prompt, cand):
        first, second = (level[t] for t in _shown(prompt))
        best = "A]" if first > second else "B]" if second > first else "C]"
        return 0.7 if cand == best else 0.1

    d = J.compare_dist(ScriptedLM(masses=masses), pairs)
    assert d.parsed.all() and d.attrs["unparsed"] == 0
    for k in (3, 4, 5):
        r = M.non_transitivity(pairs.assign(verdict=d.verdict.to_numpy()), k=k)
        assert r["rate"] == 0.0 and r["subsets"] == 2 * len(list(itertools.combinations(range(10), k)))
    sa = [level[t] for t in pairs.answer_a]; sb = [level[t] for t in pairs.answer_b]
    assert M.score_comparison_conflicts(sa, sb, d.verdict) == 0.0


def test_trustjudge_position_bias_and_aggregation(trust_pairs):
    """A judge that gives the first shown answer +0.3 regardless of quality: each order alone follows position, so the
    two orders conflict on every pair with different levels; summing both orders recovers the quality order."""
    pairs, level = trust_pairs

    def masses(prompt, cand):
        first, second = (level[t] for t in _shown(prompt))
        gap = 0.05 * (first - second)
        return {"A]": 0.45 + gap, "B]": 0.15 - gap, "C]": 0.1}[cand] if abs(gap) < 0.15 else {"A]": 0.3 + gap, "B]": 0.3 - gap, "C]": 0.1}[cand]

    d = J.compare_dist(ScriptedLM(masses=masses), pairs)
    sa = np.array([level[t] for t in pairs.answer_a]); sb = np.array([level[t] for t in pairs.answer_b])
    close = np.abs(sa - sb) <= 2  # gap < 0.15: the first position wins in both orders
    assert (d.verdict_ab[close] == "a").all() and (d.verdict_ba[close] == "b").all()
    assert M.conflict_rate(d.verdict_ab, d.verdict_ba) == pytest.approx(close.mean())
    # aggregated: sum over orders, P(a) - P(b) = 2 * 2 * gap, so the better answer wins wherever levels differ
    expected = M.verdict_from_scores(sa, sb)
    differ = sa != sb
    assert (d.verdict[differ] == expected[differ]).all()


def test_trustjudge_text_judge_counts_unparsed(trust_pairs):
    pairs, level = trust_pairs
    lm = ScriptedLM(reply=lambda p, s: "A] first is better" if len(_shown(p)[0]) % 3 else "I cannot decide")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        v = J.compare_text(lm, pairs)
    n_bad = int((~v.parsed_ab).sum() + (~v.parsed_ba).sum())
    assert n_bad > 0 and v.attrs["unparsed"] == n_bad and len(v) == len(pairs)
    assert any(f"{n_bad} judge output(s) could not be parsed" in str(x.message) for x in w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = M.non_transitivity(pairs.assign(verdict=v.verdict.to_numpy()), k=3)
    assert r["incomplete"] > 0  # subsets touching an unparsed pair are counted, not scored


# --- FairEval: 80 Vicuna questions, ChatGPT (a) vs Vicuna-13B (b), human verdicts ------------------------------

@pytest.fixture(scope="module")
def faireval_items():
    q = load("faireval", "question.jsonl")
    a = load("faireval", "answer/answer_gpt35.jsonl")
    b = load("faireval", "answer/answer_vicuna-13b.jsonl")
    assert (q.question_id.to_numpy() == a.question_id.to_numpy()).all() and (q.question_id.to_numpy() == b.question_id.to_numpy()).all()
    human = [{"CHATGPT": "a", "VICUNA13B": "b", "TIE": "tie"}[l] for l in
             fetch("faireval", "review/review_gpt35_vicuna-13b_human.txt").read_text().split()]
    return pd.DataFrame({"question": q.text, "answer_a": a.text, "answer_b": b.text, "human": human})


def test_faireval_calibrations_on_real_items(faireval_items):
    """A judge that scores the first-shown answer 8 and the second 6 (pure position bias): vanilla says 'a' always;
    BPC averages to 7 vs 7 = tie everywhere; the conflict rate is 1; BPDE is ln 2 for every item."""
    items = faireval_items
    assert len(items) == 80
    lm = ScriptedLM(reply=lambda p, s: " 8\nScore of Assistant 2: 6")
    runs = J.score_pairs(lm, items, k=1)
    assert runs.attrs["unparsed"] == 0 and len(runs) == 160
    cal = J.calibrate(runs)
    assert (cal.verdict == "tie").all() and np.allclose(cal.bpde, np.log(2))
    ab = runs[runs.order == "ab"].set_index("item").verdict; ba = runs[runs.order == "ba"].set_index("item").verdict
    assert M.conflict_rate(ab, ba) == 1.0
    assert M.accuracy(ab, items.human) == pytest.approx(41 / 80)  # "a" everywhere = the 41 CHATGPT labels
    assert M.accuracy(cal.verdict, items.human) == pytest.approx(14 / 80)  # "tie" everywhere = the 14 TIE labels
    h = J.hitlc(cal.verdict, cal.bpde, items.human, beta=0.2)
    assert h.asked_human.sum() == 16 and h.asked_human[:16].all()  # equal BPDE: ties keep item order
    assert M.accuracy(h.verdict, items.human) == pytest.approx((16 + (items.human[16:] == "tie").sum()) / 80)


def test_faireval_mec_prompt_renders_every_item(faireval_items):
    prompts = J.PAIR_SCORE_MEC_PROMPT.render(None, J._in_order(faireval_items.to_dict("records"), "ba"), low="1", high="10")
    assert len(prompts) == 80 and all(p.endswith("Evidence:") for p in prompts)
    assert faireval_items.answer_b[0] in prompts[0].split("Assistant 2:")[0]  # swapped: Vicuna shown first


# --- UniEval: the questions fit the released data files ----------------------------------------------------------

@pytest.mark.parametrize("task,path", [("dialogue", "reproduce/data/dialogue/topical_chat.json"),
                                       ("data2text", "reproduce/data/data2text/sfres.json"),
                                       ("fact", "reproduce/data/fact/qags_xsum.json")])
def test_unieval_judges_render_on_real_rows(task, path):
    rows = load_json("unieval", path)[:20]
    for (t, dim) in J.UNIEVAL_DIMENSIONS:
        if t != task: continue
        j = J.unieval_judge(t, dim)
        lm = ScriptedLM(masses=lambda p, c: 0.3 if c == " Yes" else 0.1)
        y = J.yes_probability(lm, rows, j)
        assert y.parsed.all() and len(y) == 20
        per = 0.75 * (y.n_sentences if j.per_sentence == "sum" else 1)
        assert np.allclose(y.p_yes, per)


# --- MM-Vet: rule grader on the real LLaVA-13B answers -----------------------------------------------------------

def test_mmvet_rule_grader_on_llava_answers():
    truth = load_json("mm-vet", "mm-vet.json")
    pred = load_json("mm-vet", "results/llava_llama2_13b_chat.json")
    ids = list(truth)
    assert len(ids) == 218 and set(ids) == set(pred)
    g = J.grade_by_rules([pred[i] for i in ids], [truth[i]["answer"] for i in ids])
    assert ((g >= 0) & (g <= 1)).all()
    by = dict(zip(ids, g))
    assert by["v1_0"] == 0.0  # "x is a variable representing an unknown value" vs "-1<AND>-5"
    # every answer that literally repeats its single-alternative ground truth must get full marks
    exact = [i for i in ids if "<" not in truth[i]["answer"] and truth[i]["answer"].lower() in pred[i].lower().split()]
    assert exact and all(by[i] == 1.0 for i in exact)


# --- the real default model, end to end (needs valuekit.models) --------------------------------------------------

def test_real_default_model_rating_end_to_end(trust_pairs):
    models = pytest.importorskip("valuekit.models", reason="valuekit.models is not installed yet: the real-model judge test cannot run")
    lm = models.load_lm("default", cache=False)
    rows = load("trustjudge", "trustjudge/data/answers/filtered_selected_answers.jsonl")
    items = [{"question": r.question, "answer": t} for r in rows.itertuples() for a in r.answers for t in a["text"]]
    items = sorted(items, key=lambda r: len(r["answer"]))[:3]  # the three shortest answers keep this test quick on CPU
    judge = J.RatingJudge(scale=J.Scale.points(10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = J.rate_dist(lm, items, judge)
        t = J.rate_text(lm, items, judge)
    P = np.stack(d.probs)
    assert P.shape == (3, 10) and np.allclose(P.sum(1), 1, atol=1e-5)
    assert ((d.covered > 0) & (d.covered <= 1 + 1e-6)).all()
    assert ((d.expected >= 1) & (d.expected <= 10)).all() and d.argmax.isin(range(1, 11)).all()
    assert t.attrs["unparsed"] == int((~t.parsed).sum()) and t.score[t.parsed].between(1, 10).all()
