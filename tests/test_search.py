"valuekit.search: beam search on toys with known answers, the Game-of-24 solver against an independent brute force, outcome-trained value guidance."
import itertools
from fractions import Fraction

import numpy as np
import pytest

from valuekit.search import (beam_search, compare_guides, fit_outcome_value, game24_done, game24_search, game24_start,
                             game24_steps, game24_success, policy_value, random_guide, rollouts, solvable24, solve24,
                             state_features, step_correctness, FEATURES, Game24State)


def brute_force_24(nums) -> bool:
    "Independent check: every ordering of the numbers, every operator triple, all five bracketings of four operands."
    ops = [lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: x / y if y != 0 else None]
    def ap(f, x, y): return None if x is None or y is None else f(x, y)
    for a, b, c, d in itertools.permutations([Fraction(n) for n in nums]):
        for f, g, h in itertools.product(ops, repeat=3):
            for v in (ap(h, ap(g, ap(f, a, b), c), d), ap(h, ap(f, a, b), ap(g, c, d)), ap(h, a, ap(g, ap(f, b, c), d)),
                      ap(h, a, ap(g, b, ap(f, c, d))), ap(h, ap(g, a, ap(f, b, c)), d)):
                if v == 24: return True
    return False


def exact_eval(expr: str) -> Fraction:
    import re
    return eval(re.sub(r"(\d+)", r"Fraction(\1)", expr), {"Fraction": Fraction})


def test_solver_matches_brute_force():
    rng = np.random.default_rng(0)
    quads = [tuple(int(x) for x in rng.integers(1, 14, 4)) for _ in range(60)]
    quads += [(1, 1, 1, 1), (3, 3, 8, 8), (1, 5, 5, 5), (1, 1, 1, 2), (13, 13, 13, 13), (4, 4, 10, 10), (1, 3, 4, 6)]
    for q in quads:
        s = " ".join(map(str, q))
        assert solvable24(s) == brute_force_24(q), q
        e = solve24(s)
        assert (e is not None) == solvable24(s)
        if e is not None:
            assert exact_eval(e) == 24 and sorted(map(int, __import__("re").findall(r"\d+", e))) == sorted(q)
    assert not solvable24("1 1 1 1") and solvable24("3 3 8 8") and exact_eval(solve24("3 3 8 8")) == 24


def test_released_problems_are_solvable():
    from valuekit.data import load
    puzzles = load("ovm", "data/game24/24.csv").Puzzles
    assert len(puzzles) == 1362
    assert all(solvable24(p) for p in puzzles.iloc[::20])


def test_environment_steps_and_policy_value_by_hand():
    s = game24_start("1 2 3 4")
    assert [len(game24_steps(x)) for x in (s, game24_steps(s)[0], game24_steps(game24_steps(s)[0])[0])] == [36, 18, 6]
    assert all(len(c.numbers) == len(c.exprs) == 3 for c in game24_steps(s))
    for c in game24_steps(s):  # every expression evaluates to its number
        assert all(exact_eval(e) == n for n, e in zip(c.numbers, c.exprs))
    # 0 and 24: 0+24, 24-0 make 24; 0*24, 0-24, 0/24 do not; 24/0 is not a step  ->  2/5
    assert policy_value([game24_start("0 24")])[0] == pytest.approx(2 / 5)
    assert policy_value([game24_start("4 6")])[0] == pytest.approx(1 / 6)
    assert step_correctness([game24_start("4 6"), game24_start("4 7")]).tolist() == [1.0, 0.0]
    assert game24_done(game24_start("24")) and game24_success(game24_start("24")) and not game24_success(game24_start("23"))
    X = state_features([(Fraction(24),), (Fraction(1, 3), Fraction(8)), (Fraction(1),) * 4])
    assert X.shape == (3, len(FEATURES)) and X[0, FEATURES.index("has_24")] == 1 and X[1, FEATURES.index("n_fraction")] == 1
    assert np.isnan(X[0, FEATURES.index("next_dist_24")]) and X[1, FEATURES.index("next_hits_24")] == pytest.approx(1 / 6)


def test_beam_search_known_answers():
    # add 1, 2 or 3 per step for 4 steps; the value prefers partial sums on the way to 7 -> final sum exactly 7
    expand = lambda s: [s + (k,) for k in (1, 2, 3)]
    done = lambda s: len(s) == 4
    value = lambda ss: [-abs(sum(s) - 7 * len(s) / 4) for s in ss]
    assert sum(beam_search((), expand, value, done, beam_size=1)[0][0]) == 7
    best = beam_search((), expand, value, done, beam_size=3)
    assert sum(best[0][0]) == 7 and len(best[0][0]) == 4 and best[0][1] == 0
    assert len(best) == 3 and [v for _, v in best] == sorted([v for _, v in best], reverse=True)
    # merging by key: all paths with the same sum are one state
    merged = beam_search((), expand, value, done, beam_size=5, key=lambda s: (len(s), sum(s)))
    assert len({sum(s) for s, _ in merged}) == len(merged)
    # finished states compete with unfinished ones and are kept when better
    stop = beam_search("", lambda s: [s + "x"], lambda ss: [10.0 if s == "x" else -len(s) for s in ss],
                       lambda s: s == "x", beam_size=1)
    assert stop[0] == ("x", 10.0)
    # sampling: with one sample per step the choice is random but seeded
    outs = {beam_search("", lambda s: [s + c for c in "ab"], lambda ss: [0.0] * len(ss), lambda s: len(s) == 3,
                        n_samples=1, seed=k)[0][0] for k in range(30)}
    assert len(outs) > 3
    with pytest.raises(ValueError, match="NaN"):
        beam_search(0, lambda s: [s + 1], lambda ss: [float("nan")] * len(ss), lambda s: s > 2)


def test_value_guidance_beats_chance_on_held_out_problems():
    from valuekit.data import load
    puzzles = load("ovm", "data/game24/24.csv").Puzzles.tolist()
    train, test = puzzles[:900:3], puzzles[900:915]
    data = rollouts(train, n_rollouts=8, seed=0)
    assert set(data.columns) == {"puzzle", "rollout", "step", "numbers", "success"} and data.success.any()
    ovm = fit_outcome_value(data, max_iter=100)
    v = ovm([game24_start("24"), game24_start("23"), game24_start("4 6"), game24_start("4 7")])
    assert v[0] > v[1] and v[2] > v[3]
    res = compare_guides(test, {"ovm": ovm, "exact": policy_value, "random": random_guide(0)}, beam_sizes=(1, 2))
    r = res.set_index(["guide", "beam_size"]).success_rate
    assert r["random"].max() <= 0.2
    assert r["ovm"].max() >= r["random"].max() + 0.2
    assert r["exact", 1] >= 0.6
    state, ok = game24_search("4 6 1 1", policy_value, beam_size=2, seed=1)
    assert ok == game24_success(state)
