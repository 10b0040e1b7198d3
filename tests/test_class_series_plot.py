"""The plot of a series coloured by its most probable hidden state, above the state
probabilities over time (``TimeQuantity(class_probabilities=True)``; the HMM family's
``state_probs_series.png``), rendered from a small InferenceData whose answer is known."""

import sys

import arviz as az
import matplotlib.colors as mcolors
import matplotlib.image as mpimg
import numpy as np
from script_runner import SCRIPTS

sys.path.insert(0, str(SCRIPTS))
from _arviz_io import most_probable_class, save_class_series_plot  # noqa: E402

from models.registry import FAMILIES  # noqa: E402


def _idata(probabilities: np.ndarray, y: np.ndarray) -> az.InferenceData:
    times = np.arange(100, 100 + y.shape[0])
    return az.from_dict(
        posterior={"state_probs": probabilities},
        observed_data={"y": y},
        coords={"time": times},
        dims={"state_probs": ["time", "state_probs_component"], "y": ["time"]},
    )


def test_points_take_the_colour_of_their_most_probable_state(tmp_path):
    """Three states in blocks of 20 steps (low, middle, high values); the draws disagree
    (each draw's probabilities are noisy), and the colour follows the mean probability,
    not any one draw. Checked on the drawn artists and on the pixels of the PNG."""
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 2, 1, 0], 20)  # (T,) = 80
    y = np.array([-5.0, 0.0, 5.0])[truth] + 0.3 * rng.standard_normal(truth.size)
    # per draw: 0.6 on the true state, the rest spread, then a noisy shuffle of draws
    base = np.full((truth.size, 3), 0.2)
    base[np.arange(truth.size), truth] = 0.6
    noise = rng.dirichlet(np.ones(3), size=(2, 50, truth.size))
    probs = 0.5 * base + 0.5 * noise  # (chain, draw, T, K), rows sum to 1
    expected = np.argmax(probs.reshape(-1, truth.size, 3).mean(0), axis=1)
    assert np.array_equal(expected, truth)  # the noise does not flip a mean
    drawn = save_class_series_plot(_idata(probs, y), tmp_path / "s.png", name="state_probs",
                                   observed="y", label="posterior state probabilities",
                                   time_label="day")
    assert np.array_equal(drawn["classes"], truth)
    palette = np.array([mcolors.to_rgba(f"C{k}") for k in range(3)])
    np.testing.assert_allclose(drawn["point_colors"], palette[truth])
    assert drawn["legend"] == ["state 0", "state 1", "state 2"]

    image = mpimg.imread(tmp_path / "s.png")[..., :3]  # (rows, cols, RGB) in [0, 1]
    top = image[: image.shape[0] // 2]  # the series panel
    for k in range(3):
        close = np.all(np.abs(top - palette[k, :3]) < 0.02, axis=-1)
        assert close.sum() > 50, (k, close.sum())  # every state's colour is on the plot
    # a state nobody is most probable in is absent from the series panel
    one_state = np.zeros_like(probs)
    one_state[..., 1] = 1.0
    drawn = save_class_series_plot(_idata(one_state, y), tmp_path / "one.png",
                                   name="state_probs", observed="y", label="p",
                                   time_label="day")
    assert set(drawn["classes"].tolist()) == {1}
    top = mpimg.imread(tmp_path / "one.png")[..., :3]
    top = top[: top.shape[0] // 3]
    assert np.all(np.abs(top - palette[0, :3]) < 0.02, axis=-1).sum() == 0


def test_most_probable_class_averages_before_the_argmax():
    # draw 1 says state 0 strongly, draws 2 and 3 say state 1 weakly: the mean says 0
    p = np.array([[[0.95, 0.05]], [[0.45, 0.55]], [[0.45, 0.55]]])
    assert most_probable_class(p).tolist() == [0]


def test_the_hmm_family_asks_for_the_plot():
    flagged = [q.name for q in FAMILIES["hmm"].time_quantities if q.class_probabilities]
    assert flagged == ["state_probs"]
    assert not any(q.class_probabilities for name, family in FAMILIES.items()
                   if name != "hmm" for q in family.time_quantities)
