"""The array losses are numerically stable: values and gradients against mpmath at 50 digits.

softmax, log_softmax, cross_entropy and softmax_cross_entropy at scores far apart (a
softmax that rounds to 0 or 1) and at probabilities of 0 where the target is 0.
"""

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import cgcalc

mpmath.mp.dps = 50


def run(text, **bindings):
    return cgcalc.evaluate(cgcalc.parse(text), {k: np.asarray(v, float) for k, v in bindings.items()})


def rows(a):
    """The rows of ``a`` (a vector is one row) as lists of mpmath numbers."""
    a = np.atleast_2d(np.asarray(a, float))
    return [[mpmath.mpf(v) for v in row] for row in a]


def softmax_rows(x):
    out = []
    for row in rows(x):
        total = mpmath.fsum(mpmath.exp(v) for v in row)
        out.append([mpmath.exp(v) / total for v in row])
    return out


def log_softmax_rows(x):
    """v - max - log1p(the others' exp(u - max)): at any dps, log(1 + e**-86) in 50 digits
    would keep only a dozen of its own."""
    out = []
    for row in rows(x):
        top = max(range(len(row)), key=lambda k: row[k])
        rest = mpmath.fsum(mpmath.exp(u - row[top]) for k, u in enumerate(row) if k != top)
        out.append([v - row[top] - mpmath.log1p(rest) for v in row])
    return out


def close(got, oracle, shape):
    """cgcalc's numbers are the oracle's, to a few units in the last place."""
    want = np.reshape(np.array([[float(v) for v in row] for row in oracle]), shape)
    np.testing.assert_allclose(got, want, rtol=4e-15, atol=1e-300)  # subnormals aside


SCORES = [[-1000.0, 0.0], [[-1000.0, 0.0, 1000.0], [1.0, 2.0, 3.0]], [745.0, -745.0, 0.0],
          [[1e-300, -1e-300, 0.0]], [[-800.0, -801.0, -1500.0]]]


@pytest.mark.parametrize("x", SCORES)
def test_softmax(x):
    w = np.linspace(0.5, -1.5, np.size(x)).reshape(np.shape(x))  # weights, for a gradient that is not 0
    result = run("sum(softmax(x) * w)", x=x, w=w)
    s, ws = softmax_rows(x), rows(w)
    weighted = [mpmath.fsum(a * b for a, b in zip(sr, wr)) for sr, wr in zip(s, ws)]
    close(result.gradients["w"], s, np.shape(x))
    close(result.gradients["x"], [[si * (wi - m) for si, wi in zip(sr, wr)]
                                  for sr, wr, m in zip(s, ws, weighted)], np.shape(x))
    assert result.value == pytest.approx(float(mpmath.fsum(weighted)), rel=1e-14)


@pytest.mark.parametrize("x", SCORES)
def test_log_softmax(x):
    w = np.linspace(0.5, -1.5, np.size(x)).reshape(np.shape(x))
    result = run("sum(log_softmax(x) * w)", x=x, w=w)
    s, ls, ws = softmax_rows(x), log_softmax_rows(x), rows(w)
    close(result.gradients["w"], ls, np.shape(x))
    close(result.gradients["x"], [[wi - si * mpmath.fsum(wr) for si, wi in zip(sr, wr)]
                                  for sr, wr in zip(s, ws)], np.shape(x))


@pytest.mark.parametrize("x, t", [
    ([-1000.0, 0.0], [1.0, 0.0]),
    ([[-1000.0, 0.0, 1000.0], [1.0, 2.0, 3.0]], [[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]]),
    ([745.0, -745.0, 0.0], [0.0, 1.0, 0.0]),
    ([[1.0, 2.0, 3.0]], [[0.5, 0.7, 0.0]]),  # soft targets that do not sum to 1
])
def test_softmax_cross_entropy(x, t):
    result = run("softmax_cross_entropy(x, t)", x=x, t=t)
    s, ls, ts = softmax_rows(x), log_softmax_rows(x), rows(t)
    n = len(ts)
    loss = -mpmath.fsum(ti * li for tr, lr in zip(ts, ls) for ti, li in zip(tr, lr)) / n
    assert result.value == pytest.approx(float(loss), rel=4e-15)
    close(result.gradients["x"], [[(si * mpmath.fsum(tr) - ti) / n for si, ti in zip(sr, tr)]
                                  for sr, tr in zip(s, ts)], np.shape(x))
    close(result.gradients["t"], [[-li / n for li in lr] for lr in ls], np.shape(t))


def test_softmax_cross_entropy_of_scores_too_far_apart_for_a_double():
    """log_softmax of -1e308 next to 1e308 overflows, but its target is 0: the loss is 0."""
    result = run("softmax_cross_entropy(x, t)", x=[[1e308, -1e308]], t=[0])
    assert result.value == 0.0 and result.gradients["x"].tolist() == [[0.0, 0.0]]


@pytest.mark.parametrize("y, t", [
    ([0.0, 1.0], [0.0, 1.0]),
    ([[0.0, 0.25, 0.75], [0.5, 0.5, 0.0]], [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
    ([[0.0, 0.3, 0.7]], [[0.0, 0.4, 0.6]]),
])
def test_cross_entropy_takes_0_log_0_as_0(y, t):
    result = run("cross_entropy(y, t)", y=y, t=t)
    ys, ts = rows(y), rows(t)
    n = len(ys)
    loss = -mpmath.fsum(ti * mpmath.log(yi) for yr, tr in zip(ys, ts) for yi, ti in zip(yr, tr)
                        if ti) / n
    assert result.value == pytest.approx(float(loss), rel=4e-15, abs=0)
    close(result.gradients["y"], [[-ti / (yi * n) if ti else 0 for yi, ti in zip(yr, tr)]
                                  for yr, tr in zip(ys, ts)], np.shape(y))
    # d/dt of -t·log(y) is -log(y); where y = 0 (so t = 0), the 0·log 0 = 0 convention's 0
    close(result.gradients["t"], [[-mpmath.log(yi) / n if yi else 0 for yi in yr] for yr in ys],
          np.shape(t))


def test_cross_entropy_of_a_softmax_that_rounds_to_0():
    fine = run("cross_entropy(softmax(x), t)", x=[-1000.0, 0.0], t=[0.0, 1.0])
    assert fine.value == 0.0 and fine.gradients["x"].tolist() == [0.0, 0.0]
    with pytest.raises(cgcalc.EvaluationError) as error:
        run("cross_entropy(softmax(x), t)", x=[-1000.0, 0.0], t=[1.0, 0.0])
    assert error.value.message == (
        "cross_entropy(softmax, t) is inf (the probability y must be > 0 wherever t is not 0; "
        "softmax_cross_entropy(x, t) takes the scores x and stays finite)")
    assert run("softmax_cross_entropy(x, t)", x=[-1000.0, 0.0], t=[1.0, 0.0]).value == 1000.0


def test_a_confident_prediction_keeps_its_small_loss():
    """log(1 + e**-40) rounds to 0; log1p(e**-40) does not."""
    result = run("softmax_cross_entropy(x, t)", x=[0.0, -40.0], t=[1.0, 0.0])
    assert result.value == float(mpmath.log1p(mpmath.exp(-40))) == 4.248354255291589e-18


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4), min_size=2, max_size=5), st.data())
def test_softmax_cross_entropy_against_mpmath(x, data):
    """The loss to a few units in its last place; the gradient, whose elements are at most
    1 and sum to 0, to within 1e-16 of each."""
    label = data.draw(st.integers(0, len(x) - 1))
    result = run("softmax_cross_entropy(x, t)", x=[x], t=[label])
    ls, s = log_softmax_rows([x])[0], softmax_rows([x])[0]
    assert result.value == pytest.approx(float(-ls[label]), rel=4e-15, abs=1e-300)
    want = [float(si - (k == label)) for k, si in enumerate(s)]
    np.testing.assert_allclose(result.gradients["x"][0], want, rtol=4e-15, atol=1e-16)
