"""The HMM kernels (patterns.hmm_sequential / patterns.hmm_parallel) against oracles nobody
here wrote: enumeration of all K^T paths, hmmlearn, dynamax; and the twins against each
other at T = 10^4 with emission log-likelihoods hundreds of nats apart."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from patterns import hmm_parallel, hmm_sequential, parallel, sequential

TWINS = [hmm_sequential, hmm_parallel]
TWIN_IDS = ["sequential", "parallel"]


def random_hmm(rng, num_states, num_steps, spread=1.0):
    pi = rng.dirichlet(np.ones(num_states))
    A = rng.dirichlet(np.ones(num_states), size=num_states)
    ll = spread * rng.normal(size=(num_steps, num_states))
    return pi, A, ll


def brute_force(pi, A, ll):
    """Every path's log joint, by a Python loop: (paths (K^T, T), log p(y, z) (K^T,))."""
    num_steps, num_states = ll.shape
    paths = np.array(list(itertools.product(range(num_states), repeat=num_steps)))
    log_joint = np.array([
        np.log(pi[z[0]]) + ll[0, z[0]]
        + sum(np.log(A[z[t - 1], z[t]]) + ll[t, z[t]] for t in range(1, num_steps))
        for z in paths
    ])
    return paths, log_joint


def brute_loglik_jax(logit_pi, logit_A, ll, paths):
    """The log-likelihood as a sum over the enumerated paths, in jnp, for gradients."""
    log_pi = jax.nn.log_softmax(logit_pi)
    log_A = jax.nn.log_softmax(logit_A, axis=1)
    steps = jnp.arange(ll.shape[0])
    scores = (log_pi[paths[:, 0]] + jnp.sum(ll[steps[None, :], paths], axis=1)
              + jnp.sum(log_A[paths[:, :-1], paths[:, 1:]], axis=1))
    return jax.scipy.special.logsumexp(scores)


CASES = [(1, 4), (2, 8), (3, 6)]


@pytest.mark.parametrize("twin", TWINS, ids=TWIN_IDS)
@pytest.mark.parametrize(("num_states", "num_steps"), CASES)
def test_filter_and_smoother_equal_enumeration_of_all_paths(x64, twin, num_states, num_steps):
    rng = np.random.default_rng(num_states * 10 + num_steps)
    pi, A, ll = random_hmm(rng, num_states, num_steps)
    paths, log_joint = brute_force(pi, A, ll)
    loglik = logsumexp(log_joint)
    # filtered p(z_t | y_0..y_t): sum over paths, the future's likelihood summed out
    filtered = np.empty((num_steps, num_states))
    for t in range(num_steps):
        _, prefix_joint = brute_force(pi, A, ll[: t + 1])
        prefix_paths = np.array(list(itertools.product(range(num_states), repeat=t + 1)))
        for k in range(num_states):
            filtered[t, k] = np.exp(
                logsumexp(prefix_joint[prefix_paths[:, t] == k]) - logsumexp(prefix_joint))
    smoothed = np.array([[np.exp(logsumexp(log_joint[paths[:, t] == k]) - loglik)
                          for k in range(num_states)] for t in range(num_steps)])

    out = twin.hmm_smoother(pi, A, ll)
    np.testing.assert_allclose(float(out.log_likelihood), loglik, rtol=1e-12)
    # the likelihood alone (sequential twin: scaled in probability space, the model's path)
    np.testing.assert_allclose(float(twin.hmm_log_likelihood(pi, A, ll)), loglik, rtol=1e-12)
    np.testing.assert_allclose(out.filtered_probs, filtered, atol=1e-12)
    np.testing.assert_allclose(out.smoothed_probs, smoothed, atol=1e-12)
    # Viterbi: the argmax of the enumeration
    np.testing.assert_array_equal(twin.hmm_viterbi(pi, A, ll), paths[np.argmax(log_joint)])


@pytest.mark.parametrize("twin", TWINS, ids=TWIN_IDS)
def test_gradients_equal_enumeration_of_all_paths(x64, twin):
    num_states, num_steps = 3, 6  # the shape of an enumeration case above: no new compile
    rng = np.random.default_rng(7)
    logit_pi = jnp.asarray(rng.normal(size=num_states))
    logit_A = jnp.asarray(rng.normal(size=(num_states, num_states)))
    ll = jnp.asarray(rng.normal(size=(num_steps, num_states)))
    paths = jnp.asarray(list(itertools.product(range(num_states), repeat=num_steps)))

    def ours(logit_pi, logit_A, ll):
        pi = jax.nn.softmax(logit_pi)
        A = jax.nn.softmax(logit_A, axis=1)
        return twin.hmm_filter(pi, A, ll).log_likelihood

    def alone(logit_pi, logit_A, ll):
        return twin.hmm_log_likelihood(jax.nn.softmax(logit_pi), jax.nn.softmax(logit_A, axis=1),
                                       ll)

    got = jax.grad(ours, argnums=(0, 1, 2))(logit_pi, logit_A, ll)
    want = jax.grad(brute_loglik_jax, argnums=(0, 1, 2))(logit_pi, logit_A, ll, paths)
    for g, g_alone, w in zip(got, jax.grad(alone, argnums=(0, 1, 2))(logit_pi, logit_A, ll),
                             want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g_alone, w, rtol=1e-10, atol=1e-12)
    # d log p(y) / d log p(y_t | z_t = k) is p(z_t = k | y): the smoother, a second check
    smoothed = twin.hmm_smoother(jax.nn.softmax(logit_pi), jax.nn.softmax(logit_A, axis=1),
                                 ll).smoothed_probs
    np.testing.assert_allclose(got[2], smoothed, atol=1e-12)


@pytest.mark.parametrize("twin", TWINS, ids=TWIN_IDS)
def test_backward_samples_have_the_exact_path_frequencies(x64, twin, rng_key):
    """Chi-square of 20,000 FFBS paths against the enumerated posterior of all 27 paths."""
    rng = np.random.default_rng(3)
    pi, A, ll = random_hmm(rng, 3, 3, spread=0.7)
    paths, log_joint = brute_force(pi, A, ll)
    probs = np.exp(log_joint - logsumexp(log_joint))
    keys = jax.random.split(rng_key, 20_000)
    draws = np.asarray(jax.vmap(lambda k: twin.hmm_backward_sample(k, pi, A, ll))(keys))
    codes = draws @ (3 ** np.arange(2, -1, -1))  # the row index in itertools.product order
    counts = np.bincount(codes, minlength=len(paths))
    result = stats.chisquare(counts, probs * len(draws))
    assert result.pvalue > 1e-3, (result, counts, probs * len(draws))


def test_the_twins_agree_at_ten_thousand_steps_with_very_unequal_likelihoods(
        x64, rng_key):
    """T = 10^4 (the float32 test below runs 10^5), emission log-likelihoods hundreds of
    nats apart: a probability-space filter would underflow at the first step; log space
    keeps all digits."""
    rng = np.random.default_rng(11)
    num_steps, num_states = 10_000, 3
    logit_pi = jnp.asarray(rng.normal(size=num_states))
    logit_A = jnp.asarray(rng.normal(size=(num_states, num_states)) + 3 * np.eye(num_states))
    ll = jnp.asarray(300.0 * rng.normal(size=(num_steps, num_states)))
    pi, A = jax.nn.softmax(logit_pi), jax.nn.softmax(logit_A, axis=1)

    seq, par = sequential.hmm_smoother(pi, A, ll), parallel.hmm_smoother(pi, A, ll)
    assert np.isfinite(float(seq.log_likelihood))
    np.testing.assert_allclose(float(par.log_likelihood), float(seq.log_likelihood), rtol=1e-10)
    np.testing.assert_allclose(par.filtered_probs, seq.filtered_probs, atol=1e-10)
    np.testing.assert_allclose(par.smoothed_probs, seq.smoothed_probs, atol=1e-10)
    np.testing.assert_array_equal(sequential.hmm_viterbi(pi, A, ll),
                                  parallel.hmm_viterbi(pi, A, ll))
    # FFBS: the same path for the same key (checked at T = 500 below: the parallel sampler's
    # compile time is the largest of the four, and the path code does not depend on T)
    short = slice(0, 500)
    np.testing.assert_array_equal(sequential.hmm_backward_sample(rng_key, pi, A, ll[short]),
                                  parallel.hmm_backward_sample(rng_key, pi, A, ll[short]))

    def loglik(module):
        def f(logit_pi, logit_A, ll):
            return module.hmm_filter(jax.nn.softmax(logit_pi), jax.nn.softmax(logit_A, axis=1),
                                     ll).log_likelihood
        return jax.jit(jax.grad(f, argnums=(0, 1, 2)))

    for g_seq, g_par in zip(loglik(sequential)(logit_pi, logit_A, ll),
                            loglik(parallel)(logit_pi, logit_A, ll), strict=True):
        np.testing.assert_allclose(g_par, g_seq, rtol=1e-8, atol=1e-8)

    # the likelihood alone in probability space, rescaled per step (an unscaled probability
    # filter would underflow here at the first step): the log-space value and gradients
    def scaled(logit_pi, logit_A, ll):
        return sequential.hmm_log_likelihood(jax.nn.softmax(logit_pi),
                                             jax.nn.softmax(logit_A, axis=1), ll)

    value, grads = jax.jit(jax.value_and_grad(scaled, argnums=(0, 1, 2)))(logit_pi, logit_A, ll)
    np.testing.assert_allclose(float(value), float(seq.log_likelihood), rtol=1e-10)
    for g, g_seq in zip(grads, loglik(sequential)(logit_pi, logit_A, ll), strict=True):
        np.testing.assert_allclose(g, g_seq, rtol=1e-8, atol=1e-8)


def test_no_underflow_at_a_hundred_thousand_steps_in_float32():
    """float32 (what users get), T = 10^5, likelihoods 50 nats apart: finite, and what a
    float64 run gives to float32 accuracy."""
    rng = np.random.default_rng(5)
    pi, A, ll = random_hmm(rng, 2, 100_000, spread=50.0)
    out = sequential.hmm_filter(pi.astype(np.float32), A.astype(np.float32),
                                ll.astype(np.float32))
    assert out.log_likelihood.dtype == jnp.float32
    assert np.all(np.isfinite(np.asarray(out.filtered_probs)))
    with jax.enable_x64(True):
        exact = float(sequential.hmm_filter(pi, A, ll).log_likelihood)
    np.testing.assert_allclose(float(out.log_likelihood), exact, rtol=1e-4)


def test_against_hmmlearn_gaussian_hmm(x64):
    """hmmlearn's GaussianHMM with fixed parameters: score, decode, predict_proba."""
    hmmlearn = pytest.importorskip("hmmlearn.hmm")
    rng = np.random.default_rng(2026)
    num_states, num_steps = 3, 200  # one shape for both peers: one compile per twin
    for _ in range(2):
        pi, A, _ = random_hmm(rng, num_states, 1)
        means = np.sort(rng.normal(scale=3.0, size=num_states))
        sds = rng.uniform(0.5, 2.0, size=num_states)
        model = hmmlearn.GaussianHMM(n_components=num_states, covariance_type="diag",
                                     init_params="", params="")
        model.startprob_, model.transmat_ = pi, A
        model.means_, model.covars_ = means[:, None], (sds**2)[:, None]
        y, _ = model.sample(num_steps, random_state=rng.integers(1000))
        ll = stats.norm.logpdf(y, loc=means[None, :], scale=sds[None, :])
        log_prob, path = model.decode(y, algorithm="viterbi")
        for twin in TWINS:
            out = twin.hmm_smoother(pi, A, ll)
            np.testing.assert_allclose(float(out.log_likelihood), model.score(y), rtol=1e-8)
            np.testing.assert_allclose(out.smoothed_probs, model.predict_proba(y), atol=1e-8)
            np.testing.assert_array_equal(twin.hmm_viterbi(pi, A, ll), path)
            # the Viterbi path's log joint, recomputed by hand, is hmmlearn's decode value
            z = np.asarray(twin.hmm_viterbi(pi, A, ll))
            mine = (np.log(pi[z[0]]) + ll[np.arange(num_steps), z].sum()
                    + np.log(A[z[:-1], z[1:]]).sum())
            np.testing.assert_allclose(mine, log_prob, rtol=1e-8)


def test_against_dynamax(x64):
    """dynamax's hmm_filter and hmm_posterior_mode on random cases (the smoother is checked
    against hmmlearn's predict_proba above)."""
    dynamax = pytest.importorskip("dynamax.hidden_markov_model")
    rng = np.random.default_rng(99)
    num_states, num_steps = 3, 200
    for _ in range(2):
        pi, A, ll = random_hmm(rng, num_states, num_steps, spread=4.0)
        pi, A, ll = jnp.asarray(pi), jnp.asarray(A), jnp.asarray(ll)
        with jax.numpy_rank_promotion("allow"):  # dynamax broadcasts implicitly
            ref_filter = dynamax.hmm_filter(pi, A, ll)
            ref_mode = dynamax.hmm_posterior_mode(pi, A, ll)
        for twin in TWINS:
            out = twin.hmm_smoother(pi, A, ll)
            np.testing.assert_allclose(float(out.log_likelihood),
                                       float(ref_filter.marginal_loglik), rtol=1e-8)
            np.testing.assert_allclose(out.filtered_probs, ref_filter.filtered_probs, atol=1e-8)
            np.testing.assert_array_equal(twin.hmm_viterbi(pi, A, ll), ref_mode)


BAD_INPUTS = [
    (lambda: (np.ones(0), np.ones((0, 0)), np.ones((5, 0))), "need K >= 1 states"),
    (lambda: (np.full(2, 0.5), np.full((2, 2), 0.5), np.zeros(5)), r"shape \(T, K\)"),
    (lambda: (np.full(3, 1 / 3), np.full((2, 2), 0.5), np.zeros((5, 2))),
     r"initial_probs must have shape \(2,\)"),
    (lambda: (np.full(2, 0.5), np.full((2, 3), 0.5), np.zeros((5, 2))),
     r"transition_matrix must have shape \(2, 2\)"),
    (lambda: (np.full(2, 0.5), np.array([[0.5, 0.5], [0.3, 0.6]]), np.zeros((5, 2))),
     "row 1 of transition_matrix sums to 0.9"),
    (lambda: (np.array([0.7, 0.7]), np.full((2, 2), 0.5), np.zeros((5, 2))),
     "initial_probs sums to 1.4"),
    (lambda: (np.full(2, 0.5), np.array([[1.5, -0.5], [0.5, 0.5]]), np.zeros((5, 2))),
     "non-negative"),
    (lambda: (np.full(2, 0.5), np.full((2, 2), 0.5), np.array([[0.0, 0.0], [np.nan, 0.0]])),
     r"log_likelihoods\[1, 0\] is nan"),
]


@pytest.mark.parametrize("twin", TWINS, ids=TWIN_IDS)
@pytest.mark.parametrize(("make", "message"), BAD_INPUTS)
def test_bad_input_is_a_clear_value_error(twin, make, message):
    pi, A, ll = make()
    for call in (lambda: twin.hmm_filter(pi, A, ll), lambda: twin.hmm_smoother(pi, A, ll),
                 lambda: twin.hmm_viterbi(pi, A, ll), lambda: twin.hmm_log_likelihood(pi, A, ll),
                 lambda: twin.hmm_backward_sample(jax.random.PRNGKey(0), pi, A, ll)):
        with pytest.raises(ValueError, match=message):
            call()


def test_minus_infinity_likelihoods_are_allowed(x64):
    """-inf: an observation impossible in a state; the kernels route around it."""
    with np.errstate(divide="ignore"):
        ll = np.log(np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]] + [[0.5, 0.5]] * 5))
    pi, A = np.full(2, 0.5), np.full((2, 2), 0.5)  # (T, K) = (8, 2): an enumeration shape
    for twin in TWINS:
        out = twin.hmm_smoother(pi, A, ll)
        np.testing.assert_allclose(float(out.log_likelihood), np.log(0.5**8))
        np.testing.assert_allclose(float(twin.hmm_log_likelihood(pi, A, ll)), np.log(0.5**8))
        impossible = np.array(ll)
        impossible[3] = -np.inf  # no state explains y_3: -inf, not NaN
        assert float(twin.hmm_log_likelihood(pi, A, impossible)) == -np.inf
        np.testing.assert_allclose(np.asarray(out.smoothed_probs)[[0, 2]], [[1, 0], [0, 1]])



def test_scaled_log_likelihood_in_float32_at_a_hundred_thousand_steps():
    """float32, T = 10^5, likelihoods 50 nats apart: finite, float64's value to 1e-4."""
    rng = np.random.default_rng(5)
    pi, A, ll = random_hmm(rng, 2, 100_000, spread=50.0)
    value = sequential.hmm_log_likelihood(pi.astype(np.float32), A.astype(np.float32),
                                          ll.astype(np.float32))
    assert value.dtype == jnp.float32 and np.isfinite(float(value))
    with jax.enable_x64(True):
        exact = float(sequential.hmm_filter(pi, A, ll).log_likelihood)
    np.testing.assert_allclose(float(value), exact, rtol=1e-4)

