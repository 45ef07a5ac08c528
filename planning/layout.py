"""Where each variable of the day-ahead LP sits in the solver's vector (one block per kind, step-major inside)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Index = NDArray[np.int64]


@dataclass(frozen=True)
class Layout:
    """Blocks: charge C and discharge D (W) and stored energy E (Wh, end of step) per battery and step; the
    radial's import/export at the transformer (W); per site slack above its contract in/out (W); transformer
    slack in/out (W); the step-to-step rise and fall of the radial's exchange (W, flicker); its import and
    export beyond the voltage band (W); the peak import (W); the peak export beyond the voltage band (W); then
    one binary per step that needs the no-overlap rule."""

    batteries: int
    sites: int
    steps: int
    binary_steps: tuple[int, ...] = ()

    def _block(self, order: int, rows: int) -> Index:
        bt, st, t = self.batteries * self.steps, self.sites * self.steps, self.steps
        sizes = [bt, bt, bt, t, t, st, st, t, t, t, t, t, t]
        start = sum(sizes[:order])
        return np.arange(start, start + rows * t, dtype=np.int64).reshape(rows, t)

    @property
    def charge(self) -> Index:
        return self._block(0, self.batteries)

    @property
    def discharge(self) -> Index:
        return self._block(1, self.batteries)

    @property
    def energy(self) -> Index:
        return self._block(2, self.batteries)

    @property
    def radial_import(self) -> Index:
        return self._block(3, 1).reshape(-1)

    @property
    def radial_export(self) -> Index:
        return self._block(4, 1).reshape(-1)

    @property
    def site_slack_in(self) -> Index:
        return self._block(5, self.sites)

    @property
    def site_slack_out(self) -> Index:
        return self._block(6, self.sites)

    @property
    def transformer_slack_in(self) -> Index:
        return self._block(7, 1).reshape(-1)

    @property
    def transformer_slack_out(self) -> Index:
        return self._block(8, 1).reshape(-1)

    @property
    def ramp_up(self) -> Index:
        return self._block(9, 1).reshape(-1)

    @property
    def ramp_down(self) -> Index:
        return self._block(10, 1).reshape(-1)

    @property
    def band_excess_in(self) -> Index:
        return self._block(11, 1).reshape(-1)

    @property
    def band_excess_out(self) -> Index:
        return self._block(12, 1).reshape(-1)

    @property
    def peak(self) -> int:
        return 3 * self.batteries * self.steps + 8 * self.steps + 2 * self.sites * self.steps

    @property
    def export_peak(self) -> int:
        return self.peak + 1

    @property
    def binaries(self) -> Index:
        return np.arange(self.peak + 2, self.peak + 2 + len(self.binary_steps), dtype=np.int64)

    @property
    def size(self) -> int:
        return self.peak + 2 + len(self.binary_steps)
