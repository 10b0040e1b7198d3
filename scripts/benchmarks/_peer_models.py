"""The peers' versions of this package's family models, for the benchmark jobs: each is the
same posterior as the model ``scripts/fit.py FAMILY`` fits (same priors, likelihood and,
where it matters for the sampler, parameterisation), written the way a user of that peer
writes it.

* PyMC (sampled by ``pm.sample`` or compiled by nutpie): :func:`pymc_garch`,
  :func:`pymc_sv` (non-centred and whitened, as ours), :func:`pymc_hmm` (the forward
  algorithm in PyTensor, log space), :func:`pymc_sir` (RK4 in ``pytensor.scan`` with our step),
  :func:`pymc_renewal` (the renewal scan with a lag buffer).
* NumPyro's enumeration HMM, :func:`enumerated_hmm` (the states as discrete sites in
  ``numpyro.contrib.control_flow.scan``, summed out by ``config_enumerate``'s machinery).

Every builder takes the observed series and the model keywords the fit command passes
(``options``: the family's defaults and the ones set from the data), and names its
parameters as our sites are named, so one column list reads both. Nothing here is
imported unless the peer is installed.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np


def _pymc():
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt

    return pm, pytensor, pt


def pymc_garch(y: np.ndarray, options: Mapping[str, Any]):
    """``fit.py garch`` (normal innovations, GARCH(1, 1), variance recursion started at the
    stationary variance before the sample): ``mu ~ N(mu_loc, mu_scale)``,
    ``omega ~ HalfCauchy(variance_scale)``, ``(alpha, beta, 1 - alpha - beta) ~
    Dirichlet(1, 1, 1)``; ``sigma2_1 = omega + (alpha + beta) v0`` with
    ``v0 = omega / (1 - alpha - beta)``, ``sigma2_t = omega + alpha e_{t-1}^2 + beta
    sigma2_{t-1}``, ``y_t ~ N(mu, sigma_t)``."""
    pm, pytensor, pt = _pymc()
    if tuple(options["order"]) != (1, 1) or options.get("start") != "unconditional":
        raise ValueError(f"pymc_garch: GARCH(1, 1) started at the stationary variance only, "
                         f"got order {options['order']}, start {options.get('start')!r}")
    with pm.Model() as model:
        mu = pm.Normal("mu", options["mu_loc"], options["mu_scale"])
        omega = pm.HalfCauchy("omega", options["variance_scale"])
        weights = pm.Dirichlet("weights", a=np.ones(3))
        alpha = pm.Deterministic("alpha", weights[:1])
        beta = pm.Deterministic("beta", weights[1:2])
        v0 = omega / weights[2]
        e = pt.as_tensor_variable(np.asarray(y)) - mu
        lagged = pt.concatenate([pt.stack([v0]), e[:-1] ** 2])
        variances, _ = pytensor.scan(lambda drive, previous, b: drive + b * previous,
                                     sequences=[omega + alpha[0] * lagged],
                                     outputs_info=[v0], non_sequences=[beta[0]])
        pm.Normal("y", mu, pt.sqrt(variances), observed=np.asarray(y))
    return model


def pymc_sv(y: np.ndarray, options: Mapping[str, Any]):
    """``fit.py sv`` (normal returns, the whitened non-centring of
    :func:`models.volatility.sv_model`, ``information`` c = ``options.get("information",
    0.5)``; 0 is the Stan User's Guide's map): ``mu ~ Cauchy(0, mu_scale)``,
    ``phi ~ U(-1, 1)``, ``sigma ~ HalfCauchy(sigma_scale)``, sampled as ours samples it
    (``options.get("scale", "stationary")``: the stationary sd ``s = sigma / sqrt(1 -
    phi^2) ~ HalfCauchy(sigma_scale / sqrt(1 - phi^2))`` given phi, sigma derived); with
    ``s = c sigma^2``, ``r = sqrt(((1 - |phi|)^2 + s)((1 + |phi|)^2 + s))``,
    ``q = (1 + phi^2 + s + r) / 2``: ``u_1 = h_white_1 / sqrt(q - phi^2)``,
    ``u_t = (phi / q) u_{t-1} + h_white_t / sqrt(q)``, ``u += shift mu``
    (``shift = (kappa - 1) / sigma``), ``h = mu + sigma u``, and ``h_white``'s density the
    AR(1) density of ``u`` (residuals ``sqrt(1 - phi^2) u_1``, ``u_t - phi u_{t-1}``) plus
    the log-Jacobian ``log(1 - phi^2) / 2 - log(q - phi^2) / 2 - (T - 1) log(q) / 2``;
    ``y_t ~ N(0, exp(h_t / 2))``."""
    pm, pytensor, pt = _pymc()
    num_steps = len(y)
    c = float(options.get("information", 0.5))
    with pm.Model() as model:
        mu = pm.Cauchy("mu", 0.0, options["mu_scale"])
        phi = pm.Uniform("phi", -1.0, 1.0)
        if options.get("scale", "stationary") == "stationary":  # as ours: s, sigma derived
            root = pt.sqrt((1 - phi) * (1 + phi))
            stationary_sd = pm.HalfCauchy("stationary_sd", options["sigma_scale"] / root)
            sigma = pm.Deterministic("sigma", stationary_sd * root)
        else:
            sigma = pm.HalfCauchy("sigma", options["sigma_scale"])
        h_white = pm.Flat("h_white", shape=num_steps)
        s = c * sigma**2
        root = pt.sqrt(((1 - abs(phi)) ** 2 + s) * ((1 + abs(phi)) ** 2 + s))
        q = 0.5 * (1 + phi**2 + s + root)
        q_minus_phi2 = 0.5 * (1 - phi**2 + s + root)
        q_minus_phi = 0.5 * ((1 - phi) ** 2 + s + root)
        q_minus_1_over_sigma = 0.5 * c * sigma * (1 + (2 + 2 * phi**2 + s)
                                                  / (root + 1 - phi**2))
        shift = -q_minus_1_over_sigma * q_minus_phi2 / q_minus_phi**2
        first = h_white[0] / pt.sqrt(q_minus_phi2)
        rest, _ = pytensor.scan(lambda shock, previous, rho: rho * previous + shock,
                                sequences=[h_white[1:] / pt.sqrt(q)], outputs_info=[first],
                                non_sequences=[phi / q])
        u = pt.concatenate([pt.stack([first]), rest]) + shift * mu
        residuals = pt.concatenate([pt.stack([pt.sqrt(1 - phi**2) * u[0]]),
                                    u[1:] - phi * u[:-1]])
        pm.Potential("h_white_prior", pm.logp(pm.Normal.dist(0.0, 1.0), residuals).sum()
                     + 0.5 * pt.log1p(-phi**2) - 0.5 * pt.log(q_minus_phi2)
                     - 0.5 * (num_steps - 1) * pt.log(q))
        h = mu + sigma * u
        pm.Normal("y", 0.0, pt.exp(h / 2), observed=np.asarray(y))
    return model


def pymc_hmm(y: np.ndarray, options: Mapping[str, Any]):
    """``fit.py hmm`` with a fixed emission sd and the uniform start (the bench's two
    cases): ordered means ``mu ~ N(mu_loc, mu_scale)`` restricted to increasing (and
    positive with ``positive_means``, Stan's ``positive_ordered``), Dirichlet(1) transition
    rows, states summed out by the forward algorithm in log space (``pytensor.scan`` of a
    log-sum-exp).

    The ordered means are written out as NumPyro's ``OrderedTransform`` (then ``exp`` when
    positive) of an unconstrained vector with its log Jacobian: PyMC's own ``ordered``
    transform is the same map, but its default start for equal prior locations (K = 3,
    all 0) is not strictly ordered and nutpie refuses models with explicit initial
    values."""
    pm, pytensor, pt = _pymc()
    if options.get("initial") != "fixed" or options.get("sigma") is None:
        raise ValueError("pymc_hmm: the fixed uniform start and a fixed sd only")
    states = int(options["states"])
    loc = np.broadcast_to(np.asarray(options["mu_loc"], float), (states,))
    scale = np.broadcast_to(np.asarray(options["mu_scale"], float), (states,))
    positive = bool(options.get("positive_means", False))
    data = np.asarray(y, float)
    with pm.Model() as model:
        free = pm.Flat("mu_unconstrained", shape=states)
        ordered = pt.cumsum(pt.concatenate([free[:1], pt.exp(free[1:])]))
        log_jacobian = pt.sum(free[1:])
        if positive:
            mu = pt.exp(ordered)
            log_jacobian = log_jacobian + pt.sum(ordered)
        else:
            mu = ordered
        mu = pm.Deterministic("mu", mu)
        pm.Potential("mu_prior", pm.logp(pm.Normal.dist(loc, scale), mu).sum() + log_jacobian)
        transition = pm.Dirichlet("transition_matrix", a=np.ones((states, states)))
        emissions = pm.logp(pm.Normal.dist(mu[None, :], options["sigma"]),
                            data[:, None])  # (T, K)
        # log sum_i exp(log_alpha_i) A_ij, scaled by the largest log_alpha: a dot product.
        # (A log-sum-exp over an axis of a matrix inside pytensor.scan gives wrong values in
        # PyMC 5.28 / PyTensor 2.38 -- pm.math.logsumexp for K = 2, pt.logsumexp for
        # K = 3 -- found by tests/test_benchmarks_families.py's density check.)
        def forward(log_emission, log_alpha, a):
            top = pt.max(log_alpha)
            return top + pt.log(pt.dot(pt.exp(log_alpha - top), a)) + log_emission

        first = emissions[0] - np.log(states)
        log_alphas, _ = pytensor.scan(forward, sequences=[emissions[1:]],
                                      outputs_info=[first], non_sequences=[transition])
        last = log_alphas[-1]
        pm.Potential("loglik", pt.max(last) + pt.log(pt.sum(pt.exp(last - pt.max(last)))))
    return model


def pymc_sir(y: np.ndarray, options: Mapping[str, Any]):
    """``fit.py sir`` on the boarding-school data: ``beta ~ N(2, 1)`` truncated to > 0,
    ``gamma ~ N(0.4, 0.5)`` truncated to > 0, ``phi_inv ~ Exponential(5)``; the SIR ODE from
    ``(N - I0 - R0, I0, R0)`` by classic RK4 with ``substeps`` steps a day (ours:
    :func:`patterns.ode.rk4_solve`) in one ``pytensor.scan``; ``y_t ~
    NegativeBinomial(mean max(I(t), 1e-6), alpha = 1 / phi_inv)``."""
    pm, pytensor, pt = _pymc()
    population = float(options["population"])
    infected, recovered = float(options["initial_infected"]), float(options["initial_recovered"])
    substeps = int(options["substeps"])
    num_days = len(y)
    h = 1.0 / substeps
    with pm.Model() as model:
        beta = pm.TruncatedNormal("beta", 2.0, 1.0, lower=0.0)
        gamma = pm.TruncatedNormal("gamma", 0.4, 0.5, lower=0.0)
        phi_inv = pm.Exponential("phi_inv", 5.0)
        pm.Deterministic("R0", beta / gamma)
        pm.Deterministic("recovery_time", 1.0 / gamma)

        def rhs(state, b, g):
            infections = b * state[0] * state[1] / population
            recoveries = g * state[1]
            return pt.stack([-infections, infections - recoveries, recoveries])

        def rk4(state, b, g):
            k1 = rhs(state, b, g)
            k2 = rhs(state + h / 2 * k1, b, g)
            k3 = rhs(state + h / 2 * k2, b, g)
            k4 = rhs(state + h * k3, b, g)
            return state + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

        start = pt.as_tensor_variable(np.array([population - infected - recovered, infected,
                                                recovered]))
        path, _ = pytensor.scan(rk4, outputs_info=[start], non_sequences=[beta, gamma],
                                n_steps=num_days * substeps)
        prevalence = path[substeps - 1::substeps, 1]  # days 1..T
        pm.NegativeBinomial("y", mu=pt.maximum(prevalence, 1e-6), alpha=1.0 / phi_inv,
                            observed=np.asarray(y))
    return model


def pymc_renewal(y: np.ndarray, options: Mapping[str, Any]):
    """``fit.py renewal`` with its defaults (log R_t a Gaussian random walk with ``step``-day
    steps, no delay, no day-of-week effect, no truncation, negative-binomial counts), in
    the same parameterisation (it is what makes the posterior samplable: docs/renewal.md):
    ``log_seed ~ N(seed_loc, 1)``, ``rw_sd ~ HalfNormal(rw_scale)``, the walk as its level
    ``log_level_j = log_seed + c (log R_0 + ... + log R_j)`` (``c`` = step / mean
    generation interval) with ``log R_0 ~ N`` (R_start log-normal, mean ``r_prior_mean``,
    sd ``r_prior_sd``) and ``log R_j - log R_{j-1} ~ N(0, rw_sd)`` (a ``pm.Flat`` level and
    a ``pm.Potential``: the density of :class:`models.renewal.IntegratedRandomWalk`),
    ``dispersion ~ HalfNormal(1)``; infections ``I_t = R_t sum_s g_s I_{t-s}`` from L seed
    days at ``exp(log_seed)`` by ``pytensor.scan`` over a lag buffer (newest first);
    ``y_t ~ NegativeBinomial(mean max(I_t, 1e-10), alpha = 1 / dispersion^2)``."""
    pm, pytensor, pt = _pymc()
    from models.renewal import interval_mean, resolve_interval

    if (options.get("r_model") != "random-walk" or tuple(options.get("delay", (1.0,))) != (1.0,)
            or options.get("day_of_week") not in (False, "off")
            or options.get("completeness") is not None
            or options.get("noise") != "negative-binomial"):
        raise ValueError("pymc_renewal: the fit command's default renewal model only")
    interval = np.asarray(resolve_interval(options.get("generation_interval"),
                                           options["gi_mean"], options["gi_sd"],
                                           options.get("gi_max_lag")))
    weights = interval[1:]
    num_steps, step = len(y), int(options["step"])
    levels = (num_steps - 1) // step + 1
    rate = step / interval_mean(interval)
    r_mean, r_sd = float(options["r_prior_mean"]), float(options["r_prior_sd"])
    r_shape = np.log1p((r_sd / r_mean) ** 2)
    with pm.Model() as model:
        log_seed = pm.Normal("log_seed", options["seed_loc"], 1.0)
        rw_sd = pm.HalfNormal("rw_sd", options["rw_scale"])
        level = pm.Flat("log_level", shape=levels)
        log_r = (level - pt.concatenate([pt.stack([log_seed]), level[:-1]])) / rate
        pm.Potential("walk", pm.logp(pm.Normal.dist(np.log(r_mean) - r_shape / 2,
                                                    np.sqrt(r_shape)), log_r[0])
                     + pm.logp(pm.Normal.dist(0.0, rw_sd), log_r[1:] - log_r[:-1]).sum()
                     - levels * np.log(rate))
        pm.Deterministic("R_start", pt.exp(log_r[0]))
        dispersion = pm.HalfNormal("dispersion", 1.0)
        r_t = pm.Deterministic("R_t", pt.exp(log_r[np.arange(num_steps) // step]))

        def renew(r, buffer, w):
            new = r * pt.dot(w, buffer)
            return pt.concatenate([pt.stack([new]), buffer[:-1]])

        seed = pt.exp(log_seed) * pt.ones(weights.shape[0])
        buffers, _ = pytensor.scan(renew, sequences=[r_t], outputs_info=[seed],
                                   non_sequences=[pt.as_tensor_variable(weights)])
        infections = buffers[:, 0]
        pm.NegativeBinomial("y", mu=pt.maximum(infections, 1e-10), alpha=1.0 / dispersion**2,
                            observed=np.asarray(y))
    return model


PYMC_MODELS = {"garch": pymc_garch, "sv": pymc_sv, "hmm": pymc_hmm, "sir": pymc_sir,
               "renewal": pymc_renewal}


def enumerated_hmm(y, *, states, mu_loc, mu_scale, positive_means, **_ignored):
    """The Gaussian HMM with a fixed sd of 1 and the uniform start (``gaussian_hmm_model(
    initial="fixed", sigma=1)``), the states as enumerated discrete sites: NumPyro's HMM
    example style (``scan`` of a ``Categorical`` with ``infer={"enumerate": "parallel"}``;
    NUTS sums them out through funsor). Extra keywords (the fit command's ones this
    model has no use for) are ignored."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.contrib.control_flow import scan

    from models.hmm.distribution import OrderedNormal

    K = states
    mu = numpyro.sample("mu", OrderedNormal(jnp.broadcast_to(jnp.asarray(mu_loc, float), (K,)),
                                            jnp.broadcast_to(jnp.asarray(mu_scale, float),
                                                             (K,)),
                                            positive=positive_means))
    A = numpyro.sample("transition_matrix", dist.Dirichlet(jnp.ones((K, K))).to_event(1))

    def transition(z_prev, y_t):
        probs = jnp.where(z_prev < 0, jnp.full((K,), 1.0 / K), A[jnp.maximum(z_prev, 0)])
        z = numpyro.sample("z", dist.Categorical(probs), infer={"enumerate": "parallel"})
        numpyro.sample("y", dist.Normal(mu[z], 1.0), obs=y_t)
        return z, None

    scan(transition, jnp.array(-1), y)
