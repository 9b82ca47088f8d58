import numpy as np
import pytest

from emergence.spectral import fit_sines, fourier_amplitudes, sine_target


def test_fourier_amplitudes_of_known_sines():
    x = np.arange(128) / 128
    values = sine_target(x, (2, 7)) + 0.5 * np.sin(2 * np.pi * 11 * x)
    np.testing.assert_allclose(fourier_amplitudes(values, (2, 7, 11, 5)), [1, 1, 0.5, 0],
                               atol=1e-9)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="frequencies"):
        sine_target(np.zeros(4), ())
    with pytest.raises(ValueError, match="below"):
        fourier_amplitudes(np.zeros(16), (8,))
    with pytest.raises(ValueError, match=">= 1"):
        fit_sines(steps=0)
    with pytest.raises(ValueError, match="seed"):
        fit_sines(seed=-1)


def test_low_frequency_is_learned_before_high():
    run = fit_sines((1, 8), steps=300, record_every=10, seed=0)
    assert run.learned.shape == (30, 2)
    low, high = run.first_step_above(0.5)
    assert low is not None and (high is None or low < high)
