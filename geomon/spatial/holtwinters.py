"""Holt–Winters exponential smoothing, vectorised across locations.

The recursions are statsmodels' ``ExponentialSmoothing`` ones (``holtwinters/_smoothers``),
written once over a (locations × steps) array: the loop runs over time steps only, every
operation inside it is a numpy operation over all locations at once. That is what makes a
10,000-location cube affordable; a loop over statsmodels fits is two orders of magnitude slower
(bench/forecast.py).

Models (ETS notation, additive errors): trend N (none), A (additive) or Ad (damped additive);
seasonality A (additive) or M (multiplicative)::

    base_t   = l_{t-1} + phi * b_{t-1}                       (phi = 1 without damping)
    yhat_t   = base_t + s_{t-m}            | base_t * s_{t-m}
    l_t      = a (y_t - s_{t-m}) + (1-a) base_t  | a y_t / s_{t-m} + (1-a) base_t
    b_t      = b (l_t - l_{t-1}) + (1-b) phi b_{t-1}
    s_t      = g (y_t - base_t) + (1-g) s_{t-m}  | g y_t / base_t + (1-g) s_{t-m}

Parameters are fitted by least squares on the one-step errors (statsmodels' objective) with a
batched Levenberg–Marquardt over all locations (forward-difference Jacobian computed in one
stacked pass), inside statsmodels' bounds: 0 <= a <= 1, 0 <= b <= a, 0 <= g <= 1 - a,
0.8 <= phi <= 0.995. The initial states are the classical heuristic (level = mean of the first
season, trend = mean of the season-over-season change / m, seasonals = first season minus, or
divided by, the level) and are not optimised; statsmodels reproduces them with
``initialization_method="known"`` (tests/unit/test_forecast.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

PHI_BOUNDS = (0.8, 0.995)
_EPS = 1e-9


@dataclass(frozen=True)
class HWConfig:
    trend: bool
    damped: bool
    seasonal: str  # "add" | "mul"

    @property
    def name(self) -> str:
        t = "Ad" if self.damped else ("A" if self.trend else "N")
        return f"HW({t},{'M' if self.seasonal == 'mul' else 'A'})"

    @property
    def n_params(self) -> int:
        """statsmodels' count: smoothing params + initial states (for AIC)."""
        return 2 + 2 * self.trend + self.damped  # + m seasonals, added by the caller


CONFIGS: tuple[HWConfig, ...] = (
    HWConfig(False, False, "add"),
    HWConfig(True, False, "add"),
    HWConfig(True, True, "add"),
    HWConfig(False, False, "mul"),
    HWConfig(True, False, "mul"),
    HWConfig(True, True, "mul"),
)


def config_by_name(name: str) -> HWConfig:
    for c in CONFIGS:
        if c.name == name:
            return c
    raise KeyError(name)


@dataclass
class HWFit:
    """Fitted parameters and states for one configuration, one row per location."""

    config: HWConfig
    alpha: np.ndarray
    beta: np.ndarray
    gamma: np.ndarray
    phi: np.ndarray
    l0: np.ndarray
    b0: np.ndarray
    s0: np.ndarray  # (L, m)
    sse: np.ndarray
    n: int

    def aicc(self) -> np.ndarray:
        """AICc exactly as statsmodels' HoltWintersResults computes it."""
        m = self.s0.shape[1]
        k = m + 2 * self.config.trend + 2 + self.config.damped
        sse = np.maximum(self.sse, 1e-12)
        aic = self.n * np.log(sse / self.n) + 2 * k
        dof = self.n - k - 3
        return aic + (2 * (k + 2) * (k + 3) / dof if dof > 0 else np.inf)


def initial_states(y: np.ndarray, m: int, cfg: HWConfig) -> tuple[np.ndarray, ...]:
    """Heuristic initial level, trend and seasonals from the first two seasons."""
    first, second = y[:, :m], y[:, m : 2 * m]
    l0 = first.mean(axis=1)
    b0 = ((second - first) / m).mean(axis=1) if cfg.trend else np.zeros(len(y))
    mul = cfg.seasonal == "mul"
    s0 = first / np.maximum(l0, _EPS)[:, None] if mul else first - l0[:, None]
    return l0, b0, s0


def _filter_T(yT, alpha, beta, gamma, phi, l0, b0, s0T, cfg, record=False):
    """The recursions on a (T × n) array; parameters broadcast to (..., n).

    Leading parameter dimensions (e.g. the columns of a finite-difference Jacobian) run in the
    same pass without copying the data.
    """
    T = yT.shape[0]
    m = s0T.shape[0]
    shape = np.broadcast_shapes(np.shape(alpha), np.shape(gamma), np.shape(l0))
    lev = np.broadcast_to(l0, shape).astype(float)
    tr = np.broadcast_to(b0, shape).astype(float) if cfg.trend else np.zeros(shape)
    ring = np.broadcast_to(s0T[(slice(None),) + (None,) * (len(shape) - 1)], (m,) + shape)
    ring = ring.astype(float)
    mul = cfg.seasonal == "mul"
    damp = phi if cfg.damped else 1.0
    a1, b1, g1 = 1.0 - alpha, 1.0 - beta, 1.0 - gamma
    err = np.empty((T,) + shape)
    if record:
        lev_t, tr_t = np.empty((T,) + shape), np.empty((T,) + shape)
        seas_t = np.empty((m + T,) + shape)
        seas_t[:m] = ring
    for t in range(T):
        j = t % m
        s_old = ring[j].copy()
        yt = yT[t]
        base = lev + damp * tr if cfg.trend else lev
        if mul:
            s_safe = np.where(np.abs(s_old) > _EPS, s_old, _EPS)
            b_safe = np.where(np.abs(base) > _EPS, base, _EPS)
            yhat = base * s_old
            new_lev = alpha * (yt / s_safe) + a1 * base
            ring[j] = gamma * (yt / b_safe) + g1 * s_old
        else:
            yhat = base + s_old
            new_lev = alpha * (yt - s_old) + a1 * base
            ring[j] = gamma * (yt - base) + g1 * s_old
        if cfg.trend:
            tr = beta * (new_lev - lev) + b1 * damp * tr
        lev = new_lev
        np.subtract(yt, yhat, out=err[t])
        if record:
            lev_t[t], tr_t[t], seas_t[m + t] = lev, tr, ring[j]
    out = {"err": err, "level": lev, "trend": tr, "season": ring}
    with np.errstate(over="ignore", invalid="ignore"):
        sse = np.einsum("t...,t...->...", err, err)
    out["sse"] = np.where(np.isfinite(sse), sse, np.inf)
    if record:
        out.update(lev_t=lev_t, tr_t=tr_t, seas_t=seas_t)
    return out


def run_filter(
    y: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    gamma: np.ndarray,
    phi: np.ndarray,
    l0: np.ndarray,
    b0: np.ndarray,
    s0: np.ndarray,
    cfg: HWConfig,
    record: bool = False,
) -> dict[str, np.ndarray]:
    """One pass of the recursions over all locations (rows of ``y``).

    Returns ``sse`` and ``err`` (L × T one-step errors), the final ``level``, ``trend`` and
    ``season`` ring (m × L, indexed by step % m); with ``record`` also ``fitted`` and the
    per-step states ``lev_t``, ``tr_t`` (T × L) and ``seas_t`` ((m + T) × L: the initial
    seasonals, then the value written at each step).
    """
    y = np.asarray(y, dtype=float)
    r = _filter_T(
        np.ascontiguousarray(y.T), alpha, beta, gamma, phi, l0, b0,
        np.ascontiguousarray(s0.T), cfg, record,
    )  # fmt: skip
    r["err"] = r["err"].T
    if record:
        r["fitted"] = y - r["err"]
    return r


def _unpack(theta: np.ndarray, cfg: HWConfig) -> tuple[Any, Any, Any, Any]:
    """theta rows (..., 4, n): alpha, beta/alpha, gamma/(1-alpha), phi (statsmodels' bounds)."""
    alpha = theta[..., 0, :]
    beta = alpha * theta[..., 1, :] if cfg.trend else 0.0
    gamma = (1.0 - alpha) * theta[..., 2, :]
    phi = theta[..., 3, :] if cfg.damped else 1.0
    return alpha, beta, gamma, phi


def _active(cfg: HWConfig) -> list[int]:
    return [0, 2] + ([1] if cfg.trend else []) + ([3] if cfg.damped else [])


_LB = np.array([1e-4, 0.0, 0.0, PHI_BOUNDS[0]])
_UB = np.array([0.9999, 1.0, 1.0, PHI_BOUNDS[1]])


def _pass(yT, theta, l0, b0, s0T, cfg):
    a, b, g, p = _unpack(theta, cfg)
    r = _filter_T(yT, a, b, g, p, l0, b0, s0T, cfg)
    return r["sse"], r["err"]


def fit(
    y: np.ndarray,
    m: int,
    cfg: HWConfig,
    iterations: int = 40,
    start: np.ndarray | None = None,
    tol: float = 1e-9,
) -> HWFit:
    """Least-squares fit of one configuration for every location (rows of ``y``).

    ``start``: (L × 4) parameters in this module's parametrisation (see :func:`theta_of`).
    """
    y = np.asarray(y, dtype=float)
    L, T = y.shape
    l0, b0, s0 = initial_states(y, m, cfg)
    yT, s0T = np.ascontiguousarray(y.T), np.ascontiguousarray(s0.T)
    act = np.array(_active(cfg))
    if start is None:
        # a small grid of starting points, all in one broadcast pass; best per location
        grid = np.array([[a, 0.1, g, 0.95] for a in (0.05, 0.2, 0.5) for g in (0.05, 0.3, 0.7)])
        theta_g = np.broadcast_to(grid[:, :, None], grid.shape + (L,))
        sse_g, _ = _pass(yT, theta_g, l0, b0, s0T, cfg)
        theta = np.ascontiguousarray(grid[np.argmin(sse_g, axis=0)].T)  # (4, L)
    else:
        theta = np.clip(np.asarray(start, dtype=float), _LB, _UB).T.copy()
    sse, err = _pass(yT, theta, l0, b0, s0T, cfg)
    lam = np.full(L, 1e-2)
    todo = np.isfinite(sse)
    p = len(act)
    h = 1e-6
    eye = np.eye(p)
    for _ in range(iterations):
        idx = np.flatnonzero(todo)
        if idx.size == 0:
            break
        every = idx.size == L
        th = theta if every else theta[:, idx]
        yy = yT if every else yT[:, idx]
        e0 = err if every else err[:, idx]
        l0i, b0i, s0i = (l0, b0, s0T) if every else (l0[idx], b0[idx], s0T[:, idx])
        # forward differences (backward at the upper bound), all columns in one pass
        step = np.where(th[act] + h > _UB[act, None], -h, h)  # (p, n)
        pert = np.repeat(th[None], p, axis=0)  # (p, 4, n)
        pert[np.arange(p), act] += step
        _, e_p = _pass(yy, pert, l0i, b0i, s0i, cfg)  # (T, p, n)
        # J = d(yhat)/d(theta) = -d(err)/d(theta); Gauss-Newton step solves (J'J) d = J'err
        J = (e0[:, None, :] - e_p) / step[None]
        JtJ = np.einsum("tpn,tqn->npq", J, J)
        Jtr = np.einsum("tpn,tn->np", J, e0)
        diag = np.einsum("npp->np", JtJ)
        lam_i = lam[idx]
        A = JtJ + (lam_i[:, None] * (diag + 1e-12))[:, :, None] * eye[None]
        try:
            delta = np.linalg.solve(A, Jtr[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            delta = Jtr / np.maximum(diag, 1e-12)
        delta = np.where(np.isfinite(delta), delta, 0.0).T  # (p, n)
        trial = th.copy()
        trial[act] = np.clip(th[act] + delta, _LB[act, None], _UB[act, None])
        sse_t, err_t = _pass(yy, trial, l0i, b0i, s0i, cfg)
        old = sse[idx]
        better = sse_t < old
        gain = np.where(better, (old - sse_t) / np.maximum(old, 1e-12), 0.0)
        moved = np.abs(trial[act] - th[act]).max(axis=0)
        ok = idx[better]
        theta[:, ok], sse[ok], err[:, ok] = trial[:, better], sse_t[better], err_t[:, better]
        lam[idx] = np.where(better, lam_i / 3.0, lam_i * 4.0)
        done = (better & (gain < tol)) | (moved < 1e-9) | (lam[idx] > 1e8)
        todo[idx[done]] = False
    a, b, g, ph = _unpack(theta, cfg)
    bb = np.broadcast_to(b, (L,)).copy()
    pp = np.broadcast_to(ph, (L,)).copy()
    return HWFit(cfg, a.copy(), bb, g.copy(), pp, l0, b0, s0, sse, T)


def theta_of(fit_: HWFit) -> np.ndarray:
    """The fit's parameters in fit()'s parametrisation (a warm start for a refit)."""
    a = fit_.alpha
    ub = np.where(a > 0, fit_.beta / np.maximum(a, _EPS), 0.0)
    ug = np.where(a < 1, fit_.gamma / np.maximum(1 - a, _EPS), 0.0)
    return np.column_stack([a, ub, ug, fit_.phi])


def forecast_from_states(
    level: np.ndarray,
    trend: np.ndarray,
    season_at: Callable[[int], np.ndarray],
    phi: np.ndarray,
    cfg: HWConfig,
    horizon: int,
) -> np.ndarray:
    """Forecasts for h = 1..horizon (L × H); ``season_at(h)`` gives the seasonal row for h."""
    out = np.empty((len(level), horizon))
    damp = phi if cfg.damped else np.ones(len(level))
    cum = np.zeros(len(level))
    pw = np.ones(len(level))
    for h in range(1, horizon + 1):
        pw = pw * damp
        cum = cum + pw
        base = level + cum * trend if cfg.trend else level
        s = season_at(h)
        out[:, h - 1] = base * s if cfg.seasonal == "mul" else base + s
    return out


def forecast(fit_: HWFit, state: dict[str, np.ndarray], T: int, horizon: int) -> np.ndarray:
    """Forecast h = 1..horizon after the last step of a filter pass over T steps."""
    m = fit_.s0.shape[1]
    ring = state["season"]
    return forecast_from_states(
        state["level"],
        state["trend"],
        lambda h: ring[(T + h - 1) % m],
        fit_.phi,
        fit_.config,
        horizon,
    )


def interval_sd(fit_: HWFit, sigma: np.ndarray, horizon: int) -> np.ndarray:
    """Forecast standard deviations for h = 1..horizon (Hyndman et al. 2008, class 1).

    var_h = sigma^2 (1 + sum_{j<h} c_j^2), c_j = a (1 + b* phi_j) + g [j mod m == 0], with
    phi_j = phi + ... + phi^j. Exact for additive seasonality; for multiplicative seasonality it
    is the usual additive-error approximation (said in docs/forecast.md).
    """
    m = fit_.s0.shape[1]
    L = len(sigma)
    damp = fit_.phi if fit_.config.damped else np.ones(L)
    bstar = np.where(fit_.alpha > 0, fit_.beta / np.maximum(fit_.alpha, _EPS), 0.0)
    acc = np.ones(L)
    out = np.empty((L, horizon))
    cum, pw = np.zeros(L), np.ones(L)
    for h in range(1, horizon + 1):
        out[:, h - 1] = sigma * np.sqrt(acc)
        pw = pw * damp
        cum = cum + pw
        c = fit_.alpha * (1 + (bstar * cum if fit_.config.trend else 0.0))
        c = c + (fit_.gamma if h % m == 0 else 0.0)
        acc = acc + c * c
    return out
