"""A small panel fit run the three ways tests/test_panel_sharding.py compares: unsharded,
sharded over the XLA host devices of one process, and sharded over two processes joined by
``jax.distributed.initialize`` (CPU collectives, gloo).

``python tests/panel_worker.py single OUT.npz`` (run with
``XLA_FLAGS=--xla_force_host_platform_device_count=2``) writes the unsharded log-densities
and gradients (``jit`` of the ``vmap``) and the sharded fit and log-densities (``shard_map``
over a mesh of both devices);
``python tests/panel_worker.py distributed OUT.npz PORT PROCESS_ID`` is one of two processes,
and process 0 writes the global result.
"""

import sys

import jax
import numpy as np

#: S series of length T; S a multiple of 2 devices. Short chains: the draws are compared
#: with each other, not with a posterior.
S, T, WARMUP, SAMPLES, CHAINS = 4, 40, 60, 20, 2
ORDER = (1, 1)


def panel() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Simulated ARMA(1, 1) series and a random unconstrained point per series."""
    rng = np.random.default_rng(5)
    e = rng.normal(size=(S, T + 1))
    y = 0.3 + e[:, 1:] + 0.4 * e[:, :-1]
    y[:, 1:] += 0.5 * y[:, :-1]
    params = {"intercept": rng.normal(size=S), "phi": rng.uniform(-0.5, 0.5, (S, 1)),
              "theta": rng.uniform(-0.5, 0.5, (S, 1)), "sigma": rng.normal(size=S)}
    return y, params


def results(mesh, rows: slice = slice(None), with_fit: bool = True) -> dict[str, np.ndarray]:
    """The panel's potential energies and gradients (of the series ``rows``) and, with
    ``with_fit``, the fit's draws and statistics."""
    from models.arma import FAMILY, arma_fast_model
    from models.panel import fit_independent, panel_model, panel_potential, shard_over_series

    y, params = panel()
    y, params = y[rows], {name: value[rows] for name, value in params.items()}
    static = {"order": ORDER}
    prepared = panel_model(arma_fast_model, y, static_kwargs=static)

    def potential_and_grad(y_block, params_block):
        potential = panel_potential(prepared, y_block)
        value, grad = jax.value_and_grad(lambda p: potential(p).sum())(params_block)
        return {"value": potential(params_block), **{f"grad_{k}": v for k, v in grad.items()}}

    if mesh is None:
        density = jax.tree_util.tree_map(np.asarray, jax.jit(potential_and_grad)(y, params))
    else:
        density = shard_over_series(potential_and_grad, mesh)(y, params)
    out = {f"density_{name}": value for name, value in density.items()}
    if not with_fit:
        return out
    fit = fit_independent(arma_fast_model, y, rng_key=jax.random.PRNGKey(3), num_warmup=WARMUP,
                          num_samples=SAMPLES, num_chains=CHAINS, static_kwargs=static,
                          init_strategy=FAMILY.init_strategy(), mesh=mesh)
    out.update({f"draws_{name}": np.asarray(value) for name, value in fit.samples.items()})
    out.update(step_size=np.asarray(fit.step_size), diverging=np.asarray(fit.diverging),
               energy=np.asarray(fit.energy))
    return out


def main() -> None:
    # here, not at import: pytest imports every module under tests/ for its doctests, and a
    # global float64 switch there would leak into every later test of that worker
    jax.config.update("jax_enable_x64", True)
    mode, path = sys.argv[1], sys.argv[2]
    from models.panel import series_mesh

    if mode == "single":
        assert len(jax.devices()) == 2, jax.devices()
        # the unsharded run needs no fit: draws are compared between the sharded runs only
        unsharded, sharded = results(None, with_fit=False), results(series_mesh())
        np.savez(path, **{f"unsharded_{k}": v for k, v in unsharded.items()},
                 **{f"sharded_{k}": v for k, v in sharded.items()})
        return
    port, process_id = sys.argv[3], int(sys.argv[4])
    jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=2,
                               process_id=process_id)
    assert jax.process_count() == 2 and len(jax.devices()) == 2, jax.devices()
    out = results(series_mesh())
    if process_id == 0:
        np.savez(path, **{f"distributed_{k}": v for k, v in out.items()},
                 devices=np.array([str(d) for d in jax.devices()]))
    jax.distributed.shutdown()


if __name__ == "__main__":
    main()
