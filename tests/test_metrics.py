"Metrics on the real data in the mirror: published numbers that the metric functions must reproduce exactly."
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from valuekit import metrics as M
from valuekit.data import load_json


@pytest.fixture(scope="module")
def topical_chat():
    return load_json("unieval", "reproduce/unieval_predict/dialogue/topical_chat_result.json")


def test_unieval_topical_chat_overall(topical_chat):
    "UniEval's reproduce/README.md prints Topical-Chat overall r=0.632796, rho=0.662583, tau=0.487272."
    pred = [r["predict_scores"]["overall"] for r in topical_chat]
    human = [r["scores"]["overall"] for r in topical_chat]
    c = M.correlations(pred, human).set_index("method")
    assert round(c.loc["pearson", "value"], 6) == 0.632796
    assert round(c.loc["spearman", "value"], 6) == 0.662583
    assert round(c.loc["kendall", "value"], 6) == 0.487272
    assert (c.n == 360).all()


def test_unieval_sfres_sample_level():
    "Sample-level correlations equal scipy's on every dimension of SFRES (1181 rows)."
    rows = load_json("unieval", "reproduce/unieval_predict/data2text/sfres_result.json")
    for dim in ("naturalness", "informativeness", "overall"):
        p = np.array([r["predict_scores"][dim] for r in rows]); h = np.array([r["scores"][dim] for r in rows])
        c = M.correlations(p, h).set_index("method").value
        assert c["pearson"] == pytest.approx(stats.pearsonr(p, h)[0], abs=1e-12)
        assert c["kendall"] == pytest.approx(stats.kendalltau(p, h)[0], abs=1e-12)


def test_summary_level_matches_hand_loop(topical_chat):
    "Summary level over Topical-Chat dialogue contexts equals a plain loop that skips constant groups, as UniEval does."
    df = pd.DataFrame({"src": [r["source"] for r in topical_chat],
                       "p": [r["predict_scores"]["coherence"] for r in topical_chat],
                       "h": [r["scores"]["coherence"] for r in topical_chat]})
    vals = []
    for _, g in df.groupby("src"):
        if g.p.nunique() > 1 and g.h.nunique() > 1: vals.append(stats.spearmanr(g.p, g.h)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = M.correlations(df.p, df.h, group=df.src, levels=["summary"], methods=["spearman"])
    assert c.value[0] == pytest.approx(np.mean(vals), abs=1e-12)
    assert c.n[0] == len(vals) and len(vals) >= 2


def test_faireval_human_labels_against_themselves():
    "The 80 FairEval human verdicts: 41 CHATGPT / 14 TIE / 25 VICUNA13B (SOURCE.md); perfect agreement gives kappa 1."
    from valuekit.data import fetch
    labels = fetch("faireval", "review/review_gpt35_vicuna-13b_human.txt").read_text().split()
    mapped = [{"CHATGPT": "a", "VICUNA13B": "b", "TIE": "tie"}[l] for l in labels]
    assert pd.Series(mapped).value_counts().to_dict() == {"a": 41, "b": 25, "tie": 14}
    assert M.accuracy(mapped, mapped) == 1.0
    assert M.cohen_kappa(mapped, mapped, labels=M.VERDICTS) == pytest.approx(1.0)
    # a judge that always says "a" is right 41/80 times and has kappa 0
    assert M.accuracy(["a"] * 80, mapped) == pytest.approx(41 / 80)
    assert M.cohen_kappa(["a"] * 80, mapped, labels=M.VERDICTS) == pytest.approx(0.0)


def test_bootstrap_correlation_ci_covers_estimate(topical_chat):
    p = np.array([r["predict_scores"]["overall"] for r in topical_chat])
    h = np.array([r["scores"]["overall"] for r in topical_chat])
    ci = M.bootstrap_ci(lambda a, b: stats.pearsonr(a, b)[0], p, h, n_resamples=300)
    assert ci["low"] < 0.632796 < ci["high"]
    assert 0.5 < ci["low"] and ci["high"] < 0.75
