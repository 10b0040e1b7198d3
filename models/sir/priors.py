"""The case study's priors on (beta, gamma, phi_inv) as one distribution of a 3-vector.

``beta ~ Normal(2, 1)`` truncated to beta > 0, ``gamma ~ Normal(0.4, 0.5)`` truncated to
gamma > 0, ``phi_inv ~ Exponential(5)``, independent: the same density as NumPyro's
``TruncatedNormal(2, 1, low=0)``, ``TruncatedNormal(0.4, 0.5, low=0)`` and
``Exponential(5)`` (``tests/test_sir.py`` checks it against both NumPyro's and SciPy's to
1e-12), on the same unconstrained scale (``log`` of each coordinate, the Jacobian
``sum(log theta)``: the ``exp`` that NumPyro's ``biject_to`` gives each of the three).

Why one vector site and not three scalar ones: NumPyro's NUTS program handles the latent
sites as a pytree, one leaf per site, and ``init_to_uniform`` draws each site's start with
its own random key (a threefry hash per site). With the three priors as one site of shape
(3,), the compiled NUTS program of the SIR model has one leaf and one draw, as for a
3-dimensional standard normal, and XLA compiles it in about 2.5 CPU s less (of about 8.5;
``docs/sir.md`` has the measurements). The truncated normals' log normalisers
``log(scale sqrt(2 pi) Phi(loc / scale))`` are constants of the fixed hyper-parameters,
computed here once in Python (``math.erfc``) instead of in every log-density evaluation.
"""

import math

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from jax import Array
from jax.typing import ArrayLike
from numpyro.distributions import constraints
from numpyro.distributions.util import validate_sample

__all__ = ["CaseStudyPriors", "truncated_normal_log_normaliser"]


def truncated_normal_log_normaliser(loc: float, scale: float) -> float:
    """``log(scale * sqrt(2 pi) * P(Normal(loc, scale) > 0))``: what the log density of
    ``Normal(loc, scale)`` truncated to (0, inf) subtracts from ``-(x - loc)^2 / (2 scale^2)``.

    ``P(X > 0) = Phi(loc / scale) = erfc(-loc / (scale sqrt 2)) / 2``, by ``math.erfc``
    (accurate to a few ulps for every ratio: no cancellation for large negative ones).

    Example:
        >>> print(f"{truncated_normal_log_normaliser(2.0, 1.0):.12f}")
        0.895925623876
    """
    mass = 0.5 * math.erfc(-loc / (scale * math.sqrt(2.0)))
    return math.log(scale) + 0.5 * math.log(2.0 * math.pi) + math.log(mass)


class CaseStudyPriors(dist.Distribution):
    """``(beta, gamma, phi_inv)``, independent: ``beta ~ Normal(beta_loc, beta_scale)`` and
    ``gamma ~ Normal(gamma_loc, gamma_scale)``, each truncated to (0, inf), and
    ``phi_inv ~ Exponential(phi_inv_rate)``. Event shape (3,); support: each coordinate
    positive (unconstrained by ``log``).

    Args:
        beta_loc, beta_scale: the transmission rate's normal, before truncation.
        gamma_loc, gamma_scale: the recovery rate's normal, before truncation.
        phi_inv_rate: the exponential's rate for the inverse overdispersion.

    All are Python floats: the model's hyper-parameters are constants, so the log
    normalisers are computed once (:func:`truncated_normal_log_normaliser`).

    Example:
        >>> import jax.numpy as jnp
        >>> import numpyro.distributions as dist
        >>> value = jnp.array([1.7, 0.5, 0.1])
        >>> ours = CaseStudyPriors().log_prob(value)
        >>> numpyro_sum = (dist.TruncatedNormal(2.0, 1.0, low=0.0).log_prob(value[0])
        ...                + dist.TruncatedNormal(0.4, 0.5, low=0.0).log_prob(value[1])
        ...                + dist.Exponential(5.0).log_prob(value[2]))
        >>> print(f"{float(ours):.5f} {float(numpyro_sum):.5f}")
        0.16079 0.16079
    """

    arg_constraints: dict = {}
    support = constraints.independent(constraints.positive, 1)

    def __init__(self, beta_loc: float = 2.0, beta_scale: float = 1.0, gamma_loc: float = 0.4,
                 gamma_scale: float = 0.5, phi_inv_rate: float = 5.0,
                 *, validate_args: bool | None = None) -> None:
        for name, value in (("beta_scale", beta_scale), ("gamma_scale", gamma_scale),
                            ("phi_inv_rate", phi_inv_rate)):
            if not float(value) > 0:
                raise ValueError(f"CaseStudyPriors: {name} must be > 0, got {value!r}")
        self.beta_loc, self.beta_scale = float(beta_loc), float(beta_scale)
        self.gamma_loc, self.gamma_scale = float(gamma_loc), float(gamma_scale)
        self.phi_inv_rate = float(phi_inv_rate)
        self._constant = (truncated_normal_log_normaliser(self.beta_loc, self.beta_scale)
                          + truncated_normal_log_normaliser(self.gamma_loc, self.gamma_scale)
                          - math.log(self.phi_inv_rate))
        super().__init__(batch_shape=(), event_shape=(3,), validate_args=validate_args)

    def sample(self, key: Array, sample_shape: tuple[int, ...] = ()) -> Array:
        """Draws by NumPyro's own samplers of the three laws, shape ``sample_shape + (3,)``."""
        keys = jax.random.split(key, 3)
        parts = (
            dist.TruncatedNormal(self.beta_loc, self.beta_scale, low=0.0).sample(
                keys[0], sample_shape),
            dist.TruncatedNormal(self.gamma_loc, self.gamma_scale, low=0.0).sample(
                keys[1], sample_shape),
            dist.Exponential(self.phi_inv_rate).sample(keys[2], sample_shape),
        )
        return jnp.stack(parts, axis=-1)

    @validate_sample
    def log_prob(self, value: ArrayLike) -> Array:
        value = jnp.asarray(value)
        beta, gamma, phi_inv = value[..., 0], value[..., 1], value[..., 2]
        z_beta = (beta - self.beta_loc) / self.beta_scale
        z_gamma = (gamma - self.gamma_loc) / self.gamma_scale
        return (-0.5 * (z_beta * z_beta + z_gamma * z_gamma) - self.phi_inv_rate * phi_inv
                - self._constant)
