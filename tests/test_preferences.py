"valuekit.preferences: pair sampling, elicitation in both orders, Thurstonian recovery, transitivity, PageRank, judge similarity."
import itertools, math, warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from valuekit.models import TokenDist
from valuekit.preferences import (cyclic_triads, draw_upgrade_graph, elicit_preferences, fit_thurstonian, graph_stats,
                                  preference_prob, preferred_probability, rank_values, sample_pairs,
                                  similarity_clustermap, similarity_matrix, upgrade_graph, utility_metrics)


class KnownUtilityLM:
    "Answers A with probability Phi((mu_A - mu_B) / sqrt(sigma_A^2 + sigma_B^2) + bias): known utilities, position bias."
    def __init__(self, mu, sigma, bias=0.5): self.mu, self.sigma, self.bias, self.calls = mu, sigma, bias, 0
    def next_token_dist(self, prompts, candidates):
        self.calls += 1
        a = [p.split("Option A: ")[1].split("\n")[0] for p in prompts]
        b = [p.split("Option B: ")[1].split("\n")[0] for p in prompts]
        z = np.array([(self.mu[x] - self.mu[y]) / math.hypot(self.sigma[x], self.sigma[y]) for x, y in zip(a, b)])
        pa = stats.norm.cdf(z + self.bias)
        return TokenDist.from_logprobs(np.log(np.stack([pa, 1 - pa], 1)) + np.log(0.5), candidates)


@pytest.fixture(scope="module")
def known():
    rng = np.random.default_rng(7)
    names = [f"outcome number {k}" for k in range(60)]
    mu = dict(zip(names, rng.normal(0, 1, 60)))
    sigma = dict(zip(names, rng.uniform(0.3, 0.8, 60)))
    return names, mu, sigma


def test_sample_pairs_sparse_connected_and_seeded():
    p = sample_pairs(200, degree=4, seed=3)
    assert len(p) == math.ceil(2 * 200 * math.log2(200)) < 200 * 199 // 2
    g = nx.Graph(list(zip(p[~p.holdout].i, p[~p.holdout].j)))
    assert g.number_of_nodes() == 200 and nx.is_connected(g)
    assert min(d for _, d in g.degree()) >= 4
    assert p.holdout.sum() == round(0.05 * len(p))
    assert p.equals(sample_pairs(200, degree=4, seed=3))
    assert not p.equals(sample_pairs(200, degree=4, seed=4))
    assert sample_pairs(5, edge_multiplier=50).shape[0] == 10


def test_elicitation_asks_both_orders_and_cancels_position_bias(known):
    names, mu, sigma = known
    lm = KnownUtilityLM(mu, sigma, bias=1.0)
    pairs = [(0, 1), (2, 3), (4, 5)]
    df = elicit_preferences(lm, names, pairs)
    assert lm.calls == 1  # one batched call for both orders
    z = np.array([(mu[names[i]] - mu[names[j]]) / math.hypot(sigma[names[i]], sigma[names[j]]) for i, j in pairs])
    np.testing.assert_allclose(df.p_ab, stats.norm.cdf(z + 1.0))
    np.testing.assert_allclose(df.p_ba, stats.norm.cdf(z - 1.0))  # a shown second: P(B) = 1 - Phi(-z + 1)
    assert ((df.p > 0.5) == (z > 0)).all()
    np.testing.assert_allclose(df.covered, 0.5)
    swapped = elicit_preferences(lm, names, [(j, i) for i, j in pairs])
    np.testing.assert_allclose(df.p + swapped.p, 1.0)  # symmetric once both orders are averaged


def test_thurstonian_recovers_known_utilities(known):
    names, mu, sigma = known
    pairs = sample_pairs(len(names), seed=0)
    df = elicit_preferences(KnownUtilityLM(mu, sigma), names, pairs)
    fit = fit_thurstonian(df[~df.holdout].rename(columns={"a": "x", "b": "y", "p": "q"}), a="x", b="y", p="q")
    got = fit.set_index("outcome").loc[names]
    assert stats.spearmanr(got.mu, [mu[n] for n in names]).statistic > 0.95
    assert abs(got.mu.mean()) < 1e-9 and abs(got.mu.std(ddof=0) - 1) < 1e-9
    assert list(fit.mu) == sorted(fit.mu, reverse=True)
    m = utility_metrics(fit, df[df.holdout])
    ho = df[df.holdout].p.to_numpy()
    floor = -np.mean(ho * np.log(ho) + (1 - ho) * np.log(1 - ho))  # soft labels: cross-entropy cannot go below their entropy
    assert m.accuracy >= 0.9 and floor <= m.log_loss < floor + 0.02 < m.baseline_log_loss
    assert m.baseline_log_loss == pytest.approx(math.log(2))
    # the fit reproduces the training probabilities it was given
    tr = df[~df.holdout]
    assert np.abs(preference_prob(fit, tr.a, tr.b) - tr.p).max() < 0.05


def test_thurstonian_hand_case_and_errors():
    d = pd.DataFrame({"a": ["c", "b", "c"], "b": ["b", "a", "a"], "p": stats.norm.cdf([0.5, 0.5, 1.0])})
    fit = fit_thurstonian(d)
    assert list(fit.outcome) == ["c", "b", "a"]
    np.testing.assert_allclose(fit.mu, [1.2247449, 0, -1.2247449], atol=2e-3)
    np.testing.assert_allclose(preference_prob(fit, d.a, d.b), d.p, atol=1e-3)
    w = fit_thurstonian(d.assign(n=[1, 1, 0]), weight="n")  # a zero weight drops a comparison's influence
    np.testing.assert_allclose(preference_prob(w, ["c", "b"], ["b", "a"]), stats.norm.cdf([0.5, 0.5]), atol=1e-3)
    with pytest.raises(ValueError, match="outside"): fit_thurstonian(d.assign(p=[0.1, np.nan, 0.3]))
    with pytest.raises(ValueError, match="with itself"): fit_thurstonian(d.assign(b=["c", "a", "a"]))
    with pytest.warns(UserWarning, match="separate parts"):
        fit_thurstonian(pd.DataFrame({"a": ["x", "u"], "b": ["y", "v"], "p": [0.7, 0.6]}))


def test_random_preferences_predict_no_better_than_a_coin():
    rng = np.random.default_rng(5)
    p = sample_pairs(50, seed=1)
    df = pd.DataFrame({"a": p.i, "b": p.j, "p": rng.uniform(size=len(p)), "holdout": p.holdout})
    m = utility_metrics(fit_thurstonian(df[~df.holdout]), df[df.holdout])
    assert m.log_loss > m.baseline_log_loss - 0.02


def test_cyclic_triads_counts():
    assert cyclic_triads(pd.DataFrame({"a": [1, 2, 3], "b": [2, 3, 1], "p": [1, 1, 1]})).share == 1.0
    # a transitive order has no cycles, however the pairs are listed
    order = list(range(12))
    rows = [(i, j, 0.9) if i < j else (j, i, 0.1) for i, j in itertools.permutations(order, 2) if i != j][:66]
    assert cyclic_triads(pd.DataFrame(rows, columns=list("abp"))).cyclic == 0
    # complete tournament: Kendall & Babington Smith, cyclic = C(n,3) - sum_i C(wins_i, 2)
    rng = np.random.default_rng(0)
    n = 15
    beats = {(i, j): rng.uniform() > 0.5 for i, j in itertools.combinations(range(n), 2)}
    wins = np.zeros(n, int)
    for (i, j), w in beats.items(): wins[i if w else j] += 1
    expected = math.comb(n, 3) - sum(math.comb(int(w), 2) for w in wins)
    df = pd.DataFrame([(i, j, 1.0 if w else 0.0) for (i, j), w in beats.items()], columns=list("abp"))
    r = cyclic_triads(df)
    assert (r.triads, r.cyclic) == (math.comb(n, 3), expected)


def test_pagerank_by_hand():
    r = rank_values(upgrade_graph(pd.DataFrame({"from": ["a"], "to": ["b"]})), alpha=0.5)
    # a = (1-d)/2 + d*b/2, a + b = 1  ->  a = 0.5 / (1 + d/2) with d = 0.5
    np.testing.assert_allclose(r.set_index("value").pagerank[["a", "b"]], [0.5 / 1.25, 1 - 0.5 / 1.25], atol=1e-6)
    # star: everyone upgrades to hub; hub is first, the leaves tie
    star = upgrade_graph(pd.DataFrame({"from": ["l1", "l2", "l3"], "to": ["hub"] * 3}))
    rs = rank_values(star)
    assert rs.value.iloc[0] == "hub" and rs.pagerank.iloc[1:].nunique() == 1
    assert graph_stats(star).to_dict() == {"nodes": 4, "edges": 3, "total_weight": 3.0, "sources": 3, "sinks": 1,
                                           "weak_components": 1, "acyclic": True}


def test_moral_graph_release_and_drawing():
    import matplotlib
    matplotlib.use("Agg")
    from valuekit.data import load_json
    mg = load_json("moral-graph-elicitation", "meaningalignment-dft/data/moral-graph-prolific-run.json")
    e = pd.json_normalize(mg["edges"])
    g = upgrade_graph(e, "sourceValueId", "wiserValueId", weight="counts.markedWiser")
    assert g.number_of_edges() == 67 and graph_stats(g).total_weight == e["counts.markedWiser"].sum()
    fig = draw_upgrade_graph(g, labels={v["id"]: v["title"] for v in mg["values"]}, top=5)
    assert len(fig.axes) == 1 and len(fig.axes[0].texts) == 5


def test_similarity_matrix_on_released_coefficients():
    import matplotlib
    matplotlib.use("Agg")
    from valuekit.data import load
    groups = ["Advice", "Code", "Communication", "Creative Writing", "Daily Tasks", "Exam Questions",
              "Functional Writing", "Knowledge-aware", "NLP Tasks", "Others", "Unsafe Queries"]
    coefs = {}
    for gname in groups:
        df = load("preference-dissection", f"visualization/data/fitted_paras_comparison/model_{gname}_fitted_paras.jsonl")
        coefs[gname] = pd.DataFrame(df.parameters.tolist(), index=df.model_name)
    sim = similarity_matrix(coefs)
    assert sim.loc["human", "gpt-4-1106-preview"] == pytest.approx(0.742, abs=5e-4)
    assert np.allclose(np.diag(sim), 1) and np.allclose(sim, sim.T)
    # by hand for one pair: the mean of the 11 per-group Pearson correlations
    by_hand = np.mean([np.corrcoef(coefs[gname].loc["human"], coefs[gname].loc["yi-6b-chat"])[0, 1] for gname in groups])
    assert sim.loc["human", "yi-6b-chat"] == pytest.approx(by_hand)
    prob = preferred_probability(coefs["Advice"])
    assert prob.shape == (33, 29) and ((prob > 0) & (prob < 1)).all().all()
    assert (prob.loc["human"] > 0.5).to_numpy().tolist() == (coefs["Advice"].loc["human"] > 0).to_numpy().tolist()
    fig = similarity_clustermap(sim)
    assert fig is not None
