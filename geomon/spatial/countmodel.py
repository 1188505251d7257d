"""A Poisson log-linear model with season effects and a trend, fitted to many locations at once.

    log mu_t = b0 + season effect(t) + b1 * t / T

Season effects are dummies (one per season position but the first) for short seasons (<= 12)
and K Fourier pairs for long ones (weekly, 52), where 51 dummies would over-fit the few events a
sparse cell has. Over-dispersion is estimated from the Pearson statistic (quasi-Poisson) and the
prediction intervals use a negative binomial with that variance (phi * mu); parameter
uncertainty is not added to them.

Why our own IRLS and not a loop over ``statsmodels.GLM``: every location shares the same design
matrix, so one IRLS iteration for all of them is two matrix products (X^T W X for all locations
is W @ (x_t x_t^T), an (L × T) by (T × p^2) product) and a batched solve; statsmodels would
refit 10,000 times. statsmodels' GLM(Poisson) is the test oracle (same coefficients). A tiny
ridge (``RIDGE``) keeps a season with no event at all finite instead of sliding to -inf.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

RIDGE = 1e-4
MAX_ETA = 30.0


def design(t: np.ndarray, season_pos: np.ndarray, m: int, T_scale: float, harmonics: int = 4):
    """Design rows for steps ``t`` with season positions ``season_pos`` (0..m-1)."""
    cols = [np.ones(len(t)), t / T_scale]
    if m <= 12:
        for k in range(1, m):
            cols.append((season_pos == k).astype(float))
    else:
        for k in range(1, harmonics + 1):
            ang = 2 * np.pi * k * season_pos / m
            cols.extend([np.sin(ang), np.cos(ang)])
    return np.column_stack(cols)


@dataclass
class CountFit:
    coef: np.ndarray  # (L, p)
    dispersion: np.ndarray  # (L,) >= 1
    fitted: np.ndarray  # (L, T) mu over the fitting window
    converged: np.ndarray  # (L,) bool


def fit_poisson(y: np.ndarray, X: np.ndarray, iterations: int = 50, tol: float = 1e-8) -> CountFit:
    """IRLS for every row of ``y`` (L × T) with the shared design ``X`` (T × p)."""
    y = np.asarray(y, dtype=float)
    L, T = y.shape
    p = X.shape[1]
    XX = np.einsum("tp,tq->tpq", X, X).reshape(T, p * p)
    pen = np.full(p, RIDGE)
    pen[0] = 0.0
    coef = np.zeros((L, p))
    coef[:, 0] = np.log(np.maximum(y.mean(axis=1), 1e-3))
    converged = np.zeros(L, dtype=bool)
    for _ in range(iterations):
        todo = np.flatnonzero(~converged)
        if todo.size == 0:
            break
        c = coef[todo]
        eta = np.clip(c @ X.T, -MAX_ETA, MAX_ETA)
        mu = np.exp(eta)
        z = eta + (y[todo] - mu) / mu
        A = (mu @ XX).reshape(todo.size, p, p) + np.diag(pen)[None]
        b = (mu * z) @ X
        new = np.linalg.solve(A, b[:, :, None])[:, :, 0]
        change = np.abs(new - c).max(axis=1)
        coef[todo] = new
        converged[todo] = change < tol * (1 + np.abs(new).max(axis=1))
    mu = np.exp(np.clip(coef @ X.T, -MAX_ETA, MAX_ETA))
    pearson = ((y - mu) ** 2 / np.maximum(mu, 1e-12)).sum(axis=1)
    dof = max(T - p, 1)
    return CountFit(coef, np.maximum(pearson / dof, 1.0), mu, converged)


def predict(fit_: CountFit, X_new: np.ndarray) -> np.ndarray:
    return np.exp(np.clip(fit_.coef @ X_new.T, -MAX_ETA, MAX_ETA))


def interval(mu: np.ndarray, dispersion: np.ndarray, level: float) -> tuple[np.ndarray, ...]:
    """Central prediction interval for counts with mean mu and variance dispersion * mu."""
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    disp = np.broadcast_to(dispersion[:, None], mu.shape)
    over = disp > 1.0 + 1e-9
    mu_s = np.maximum(mu, 1e-12)
    n = np.where(over, mu_s / np.maximum(disp - 1.0, 1e-12), 1.0)
    prob = np.where(over, 1.0 / disp, 0.5)
    lo = np.where(over, stats.nbinom.ppf(lo_q, n, prob), stats.poisson.ppf(lo_q, mu_s))
    hi = np.where(over, stats.nbinom.ppf(hi_q, n, prob), stats.poisson.ppf(hi_q, mu_s))
    return lo.astype(float), hi.astype(float)
