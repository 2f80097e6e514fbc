"""Every JIT-compiled function of the engine, in one file (numba, or plain Python without it).

numba's on-disk cache is invalidated only by edits to the file that defines a kernel, not to
the helpers it calls; keeping all jitted code here means any edit recompiles all of it.

Scaled integers (DESIGN "Money and numbers"): amounts are int64 cents, prices int64
micro-units (×10⁶), FX rates ×10⁸, factors and haircuts ×10⁴, ratios ×10⁶. Products that
would overflow int64 are split into digits so that every result equals ``money.round_*`` of the
exact Decimal product: half up, i.e. half away from zero, like ``ROUND_HALF_UP``. Callers keep
operands inside the bounds that ``arrays.check_bounds`` proves.
"""

from __future__ import annotations

import numpy as np

from riskdesk.engine.jit import inline_kernel, kernel, parallel_kernel, prange

CENT_SCALE = 100
PRICE_SCALE = 1_000_000
FX_SCALE = 100_000_000
FACTOR_SCALE = 10_000
RATIO_SCALE = 1_000_000
#: A unit value (price × fx × multiplier) is held as three base-10⁶ digits of 10⁻¹² cents.
DIGIT = 1_000_000
UNIT = 1_000_000_000_000
ALERT_NONE, ALERT_MARGIN_CALL, ALERT_FORCE_CLOSE = 0, 1, 2


# ------------------------------------------------------------------------ exact integer helpers
@kernel
def mul_div_round(x, m, s):
    """``round_half_up(x × m / s)`` for x ≥ 0, m ≥ 0, s² < 2⁶³; exact while the result fits."""
    xh = x // s
    xl = x - xh * s
    mh = m // s
    ml = m - mh * s
    t = xl * ml
    q = t // s
    r = t - q * s
    return x * mh + xh * ml + q + (1 if 2 * r >= s else 0)


@kernel
def factor_line(amount, factor):
    """``round_half_up(amount × factor / 10⁴)`` for amount ≥ 0 and 0 ≤ factor ≤ 10⁴: a
    requirement or liquid-asset line; exact while amount ≤ 9·10¹⁴ (per-account bound)."""
    return (amount * factor + FACTOR_SCALE // 2) // FACTOR_SCALE


@kernel
def signed_mul_div_round(x, m, s):
    """``mul_div_round`` for any sign of x, rounding half away from zero (ROUND_HALF_UP)."""
    if x < 0:
        return -mul_div_round(-x, m, s)
    return mul_div_round(x, m, s)


@kernel
def market_value_cents(q, u2, u1, u0):
    """``round_half_up(q × U / 10¹²)`` cents with U = u2·10¹² + u1·10⁶ + u0 the unit value
    (price × fx × multiplier) in 10⁻¹² cents; exact for |q| ≤ 10¹² (MC-1 ``mv``)."""
    a = -q if q < 0 else q
    t = a * u1
    th = t // DIGIT
    tl = t - th * DIGIT
    r = tl * DIGIT + a * u0
    rh = r // UNIT
    rl = r - rh * UNIT
    c = a * u2 + th + rh + (1 if 2 * rl >= UNIT else 0)
    return -c if q < 0 else c


@kernel
def ratio_micros(num, den):
    """``round_half_up(num / den, 6 dp)`` × 10⁶ for den > 0, |num|, den < 9·10¹⁵."""
    a = -num if num < 0 else num
    q0 = a // den
    r = (a - q0 * den) * 1000
    d1 = r // den
    r = (r - d1 * den) * 1000
    d2 = r // den
    r = r - d2 * den
    v = q0 * RATIO_SCALE + d1 * 1000 + d2 + (1 if 2 * r >= den else 0)
    return -v if num < 0 else v


def unit_digits(price_micros: int, fx_units: int, multiplier: int) -> tuple[int, int, int]:
    """Split U = price×10⁶ · fx×10⁸ · multiplier (Python ints, exact) into (u2, u1, u0)."""
    u = int(price_micros) * int(fx_units) * int(multiplier)
    u2, rest = divmod(u, UNIT)
    u1, u0 = divmod(rest, DIGIT)
    return u2, u1, u0


# ------------------------------------------------------------------- margin (MC-1)


@kernel
def derive(cash, long_mv, short_mv, excluded_mv, r_mcm, r_mm, r_fm, ir, tc, limit, has_limit):
    """Account figures from the account sums (MC-1): equity, lna, nar ×10⁶, loan,
    over-financing, call amount, alert (0 none, 1 margin_call, 2 force_close)."""
    equity = cash + long_mv + short_mv
    lna = equity - excluded_mv
    gross = long_mv - excluded_mv - short_mv
    den = lna if lna > gross else gross
    nar = RATIO_SCALE if den == 0 else ratio_micros(lna, den)
    loan = -cash if cash < 0 else 0
    over = 0
    if has_limit and loan > limit:
        over = loan - limit
    if lna < r_fm:
        alert = ALERT_FORCE_CLOSE
    elif lna < r_mm or over > 0:
        alert = ALERT_MARGIN_CALL
    else:
        alert = ALERT_NONE
    call = 0
    if alert != ALERT_NONE:
        call = r_mcm - lna + ir - tc
        if over > call:
            call = over
        if call < 0:
            call = 0
    return equity, lna, nar, loan, over, call, alert


#: Columns of the packed instrument rows for the margin kernel (one 64-byte row each).
M_U2, M_U1, M_U0, M_IM, M_MCM, M_MM, M_FM, M_EXCLUDED = range(8)
#: Rows of the margin output buffer (int64, one column per account).
(
    O_CASH, O_LONG, O_SHORT, O_EXCLUDED, O_IM, O_MCM, O_MM, O_FM,
    O_EQUITY, O_LNA, O_NAR, O_LOAN, O_OVER, O_CALL, O_ALERT,
) = range(15)  # fmt: skip


@parallel_kernel
def margin_accounts(
    accounts, pos_offsets, pos_instr, pos_qty, cash_offsets, cash_ccy, cash_amt, fx,
    rows, ir, tc, limit, has_limit, out,
):  # fmt: skip
    """MC-1 figures of ``accounts`` into ``out[:, k]`` (rows O_*); one pass over positions:
    mv = round(q × unit), long/short/excluded sums, req(L) = Σ round(|mv| × factor_L), then
    ``derive``.

    ``rows`` is the packed instrument table (M_* columns): one cache line per position.
    """
    for k in prange(len(accounts)):
        a = accounts[k]
        cash = 0
        for t in range(cash_offsets[a], cash_offsets[a + 1]):
            cash += signed_mul_div_round(cash_amt[t], fx[cash_ccy[t]], FX_SCALE)
        long_mv = 0
        short_mv = 0
        excl = 0
        r_im = 0
        r_mcm = 0
        r_mm = 0
        r_fm = 0
        for p in range(pos_offsets[a], pos_offsets[a + 1]):
            i = pos_instr[p]
            q = pos_qty[p]
            mv = market_value_cents(q, rows[i, M_U2], rows[i, M_U1], rows[i, M_U0])
            if q > 0:
                long_mv += mv
                if rows[i, M_EXCLUDED]:
                    excl += mv
            elif q < 0:
                short_mv += mv
            amv = -mv if mv < 0 else mv
            r_im += factor_line(amv, rows[i, M_IM])
            r_mcm += factor_line(amv, rows[i, M_MCM])
            r_mm += factor_line(amv, rows[i, M_MM])
            r_fm += factor_line(amv, rows[i, M_FM])
        equity, lna, nar, loan, over, call, alert = derive(
            cash, long_mv, short_mv, excl, r_mcm, r_mm, r_fm, ir[a], tc[a], limit[a], has_limit[a]
        )
        out[O_CASH, k] = cash
        out[O_LONG, k] = long_mv
        out[O_SHORT, k] = short_mv
        out[O_EXCLUDED, k] = excl
        out[O_IM, k] = r_im
        out[O_MCM, k] = r_mcm
        out[O_MM, k] = r_mm
        out[O_FM, k] = r_fm
        out[O_EQUITY, k] = equity
        out[O_LNA, k] = lna
        out[O_NAR, k] = nar
        out[O_LOAN, k] = loan
        out[O_OVER, k] = over
        out[O_CALL, k] = call
        out[O_ALERT, k] = alert


@kernel
def reprice_holders(
    holder_acc, holder_pos, pos_qty, old2, old1, old0, new2, new1, new0, factors, excluded,
    params, state,
):  # fmt: skip
    """MC-1: re-screen the holders of one instrument after its unit value changed (old → new).

    ``state`` is account-major (n, 16) with the O_* figure columns; ``params`` (n, 4) holds
    interest receivable, trading credit, credit limit, has-limit. Each holding's market value
    and requirement lines are recomputed at both prices and the differences added (exact).
    """
    for j in range(len(holder_pos)):
        a = holder_acc[j]
        q = pos_qty[holder_pos[j]]
        old = market_value_cents(q, old2, old1, old0)
        new = market_value_cents(q, new2, new1, new0)
        if q > 0:
            state[a, O_LONG] += new - old
            if excluded:
                state[a, O_EXCLUDED] += new - old
        elif q < 0:
            state[a, O_SHORT] += new - old
        a_old = -old if old < 0 else old
        a_new = -new if new < 0 else new
        for level in range(4):
            state[a, O_IM + level] += factor_line(a_new, factors[level]) - factor_line(
                a_old, factors[level]
            )
        equity, lna, nar, loan, over, call, alert = derive(
            state[a, O_CASH], state[a, O_LONG], state[a, O_SHORT], state[a, O_EXCLUDED],
            state[a, O_MCM], state[a, O_MM], state[a, O_FM],
            params[a, 0], params[a, 1], params[a, 2], params[a, 3] != 0,
        )  # fmt: skip
        state[a, O_EQUITY] = equity
        state[a, O_LNA] = lna
        state[a, O_NAR] = nar
        state[a, O_LOAN] = loan
        state[a, O_OVER] = over
        state[a, O_CALL] = call
        state[a, O_ALERT] = alert


#: Columns of the live screen's packed instrument rows (one row per instrument).
L_U2, L_U1, L_U0, L_EXCLUDED = range(4)
#: Columns of the live screen's per-account parameters.
P_IR, P_TC, P_LIMIT, P_HAS_LIMIT = range(4)
#: The live screen's state column holding the account's exposure bound, as float64 bits (read
#: and written through a float64 view of the state: the same cache lines as the figures).
O_BOUND = 15


@kernel
def _store(state, a, cash, long_mv, short_mv, excl, r_im, r_mcm, r_mm, r_fm, params):
    equity, lna, nar, loan, over, call, alert = derive(
        cash, long_mv, short_mv, excl, r_mcm, r_mm, r_fm,
        params[a, P_IR], params[a, P_TC], params[a, P_LIMIT], params[a, P_HAS_LIMIT] != 0,
    )  # fmt: skip
    state[a, O_CASH] = cash
    state[a, O_LONG] = long_mv
    state[a, O_SHORT] = short_mv
    state[a, O_EXCLUDED] = excl
    state[a, O_IM] = r_im
    state[a, O_MCM] = r_mcm
    state[a, O_MM] = r_mm
    state[a, O_FM] = r_fm
    state[a, O_EQUITY] = equity
    state[a, O_LNA] = lna
    state[a, O_NAR] = nar
    state[a, O_LOAN] = loan
    state[a, O_OVER] = over
    state[a, O_CALL] = call
    state[a, O_ALERT] = alert


@parallel_kernel
def margin_positions(
    slots, pos_start, pos_end, pos_instr, pos_qty, pos_fac, cash_start, cash_end, cash_ccy,
    cash_amt, fx, rows, params, state, statef, threaded,
):  # fmt: skip
    """MC-1 figures of the accounts ``slots`` from scratch, with a margin ratio per POSITION
    (``_position_figures`` for each), spread over threads when ``threaded`` (a whole book); on
    the calling thread otherwise (the few accounts a tick or an event recomputes: waking the
    pool cost more than the work, and on two busy cores a worker waiting for a core held up
    the whole call).

    Like ``margin_accounts``, but the factors come from ``pos_fac[p]`` (the ratio MR-6 resolved
    for that account's position: client rules, intraday or short ratios) instead of one row per
    instrument, positions of account a are ``pos_start[a]:pos_end[a]`` (ranges, so an account can
    be rewritten elsewhere), and the figures go to ``state[a]`` (account-major, O_* columns)."""
    n = len(slots) if threaded else 0
    for k in prange(n):
        _position_figures(
            slots[k], pos_start, pos_end, pos_instr, pos_qty, pos_fac, cash_start, cash_end,
            cash_ccy, cash_amt, fx, rows, params, state, statef,
        )  # fmt: skip
    for k in range(len(slots) - n):
        _position_figures(
            slots[k], pos_start, pos_end, pos_instr, pos_qty, pos_fac, cash_start, cash_end,
            cash_ccy, cash_amt, fx, rows, params, state, statef,
        )  # fmt: skip


@inline_kernel
def _position_figures(
    a, pos_start, pos_end, pos_instr, pos_qty, pos_fac, cash_start, cash_end, cash_ccy,
    cash_amt, fx, rows, params, state, statef,
):  # fmt: skip
    """MC-1 figures of account ``a`` from scratch (``margin_positions``):
    mv = round(q × unit), req(L) = Σ round(|mv| × factor_L) with factor 1 for excluded stocks,
    long / short / excluded sums, cash = Σ round(balance × fx), then ``derive``.
    ``statef[a, O_BOUND]`` (``statef``: ``state`` viewed as float64) gets
    Σ |q|·(unit2 + 1) + Σ |cash|·(fx/10⁸ + 1): the caller checks it
    against ``arrays.MAX_ACCOUNT_CENTS`` so that no intermediate can overflow."""
    cash = 0
    b = 0.0
    for t in range(cash_start[a], cash_end[a]):
        v = cash_amt[t]
        cash += signed_mul_div_round(v, fx[cash_ccy[t]], FX_SCALE)
        b += (-v if v < 0 else v) * (fx[cash_ccy[t]] / FX_SCALE + 1.0)
    long_mv = 0
    short_mv = 0
    excl = 0
    r_im = 0
    r_mcm = 0
    r_mm = 0
    r_fm = 0
    for p in range(pos_start[a], pos_end[a]):
        i = pos_instr[p]
        q = pos_qty[p]
        b += (-q if q < 0 else q) * (rows[i, L_U2] + 1.0)
        mv = market_value_cents(q, rows[i, L_U2], rows[i, L_U1], rows[i, L_U0])
        excluded = rows[i, L_EXCLUDED] != 0
        if q > 0:
            long_mv += mv
            if excluded:
                excl += mv
        elif q < 0:
            short_mv += mv
        amv = -mv if mv < 0 else mv
        if excluded:
            r_im += amv
            r_mcm += amv
            r_mm += amv
            r_fm += amv
        else:
            r_im += factor_line(amv, pos_fac[p, 0])
            r_mcm += factor_line(amv, pos_fac[p, 1])
            r_mm += factor_line(amv, pos_fac[p, 2])
            r_fm += factor_line(amv, pos_fac[p, 3])
    statef[a, O_BOUND] = b
    _store(state, a, cash, long_mv, short_mv, excl, r_im, r_mcm, r_mm, r_fm, params)


@inline_kernel
def _abs_mv(a, u2, u1, u0):
    """``market_value_cents`` of a quantity ``a`` ≥ 0 in unsigned arithmetic: every operand is
    non-negative, and an unsigned division by a constant is a multiply and a shift (the
    repricing kernel does this twice per holding)."""
    ua = np.uint64(a)
    t = ua * np.uint64(u1)
    th = t // np.uint64(DIGIT)
    r = (t - th * np.uint64(DIGIT)) * np.uint64(DIGIT) + ua * np.uint64(u0)
    rh = r // np.uint64(UNIT)
    rl = r - rh * np.uint64(UNIT)
    up = np.uint64(1) if np.uint64(2) * rl >= np.uint64(UNIT) else np.uint64(0)
    return np.int64(ua * np.uint64(u2) + th + rh + up)


@inline_kernel
def _abs_line(amount, factor):
    """``factor_line`` for amount ≥ 0, unsigned (amount × factor < 2⁶⁴ within the bounds)."""
    half = np.uint64(FACTOR_SCALE // 2)
    return np.int64((np.uint64(amount) * np.uint64(factor) + half) // np.uint64(FACTOR_SCALE))


@inline_kernel
def _reprice_holding(state, statef, a, q, fac, r, o2, o1, o0, n2, n1, n0, excluded):
    """One holding of quantity q of account a, factors ``fac[r]``: mv and the four requirement
    lines round(|mv| × factor_L) (factor 1 if excluded) at both unit values, the differences
    added to the account's sums (exact int64: no drift); its bound moves by |q|·(new2 − old2).
    Deriving the figures is left to the caller. Quantity 0 (closed, or rewritten elsewhere)
    weighs nothing: False."""
    if q == 0:
        return False
    aq = -q if q < 0 else q
    old = _abs_mv(aq, o2, o1, o0)
    new = _abs_mv(aq, n2, n1, n0)
    d = new - old
    statef[a, O_BOUND] += aq * float(n2 - o2)
    if q > 0:
        state[a, O_LONG] += d
        if excluded:
            state[a, O_EXCLUDED] += d
    else:
        state[a, O_SHORT] -= d
    for level in range(4):
        if excluded:
            state[a, O_IM + level] += d
        else:
            f = fac[r, level]
            state[a, O_IM + level] += _abs_line(new, f) - _abs_line(old, f)
    return True


@inline_kernel
def holding_weight(q, fac, r):
    """|q| · (1 + max(1, f_mm, f_fm)): a holding's bound on the move of its account's cushion
    per cent of unit value (``reprice_instruments``)."""
    f = max(FACTOR_SCALE, fac[r, 2], fac[r, 3])
    return (-q if q < 0 else q) * (1.0 + f / FACTOR_SCALE)


@kernel
def holding_weights(qty, fac, out):
    """``holding_weight`` of every holding, into ``out``."""
    for r in range(len(qty)):
        out[r] = holding_weight(qty[r], fac, r)


@inline_kernel
def _exact(
    state, statef, mark, stale, out_slot, out_k, out_fresh, m, k, a, q, fac, r,
    o2, o1, o0, n2, n1, n0, excluded,
):  # fmt: skip
    """A holding screened exactly (``reprice_instruments``): its differences when the sums are
    current, else the account is flagged fresh (recomputed from scratch by the caller, which
    covers its other holdings of the batch). Reported as the m-th (slot, k); returns m + 1."""
    out_slot[m], out_k[m] = a, k
    if stale[a]:
        mark[a], out_fresh[m] = 2, 1
    else:
        _reprice_holding(state, statef, a, q, fac, r, o2, o1, o0, n2, n1, n0, excluded)
        mark[a], out_fresh[m] = 1, 0
    return m + 1


@kernel
def reprice_instruments(
    lo, hi, ex_pos, ex_seg, old_units, new_units, excluded, skip, h_slot, h_qty, h_fac,
    h_weight, pos_slot, pos_qty, pos_fac, params, state, statef, mark, slack, stale, pinned,
    out_slot, out_k, out_fresh,
):  # fmt: skip
    """MC-1: re-screen the holders of instruments whose unit value moved (one batch of ticks),
    each holding with the margin ratio of its POSITION (MR-6: client rules, intraday, short)
    rather than one per instrument.

    Instrument k's unit value moved from ``old_units[k]`` to ``new_units[k]`` (u2, u1, u0);
    its holdings are the holder-major records ``h_slot/h_qty/h_fac/h_weight[lo[k]:hi[k]]``
    (read sequentially) plus the positions appended since, ``ex_pos[ex_seg[k]:ex_seg[k+1]]``;
    ``skip[k]`` leaves it out (no exact difference: the caller recomputes those holders).

    Most accounts are far from a call, so a holding first spends the account's SLACK: a
    lower bound, in cents, of its cushion = lna − max(req_mm, req_fm), which is ≥ 0 exactly
    when no price-driven alert can fire (over-financing does not move with prices). A move
    of |ΔU| cents per unit changes |mv| by at most |q|·|ΔU| + 1 and so the cushion by at most

        b = |q|·|ΔU|·(1 + max(1, f_mm, f_fm)) + 4 cents      (lna by |Δmv|, each line by
          = holding_weight · |ΔU| + 4                          f·|Δmv| + 1)

    While ``slack[a] ≥ b`` the account cannot be in alert: its sums are not touched, only
    ``stale[a]`` is set (they no longer match the prices) and the slack shrinks by b. An
    account without that slack (near or in alert, or ``pinned``: it has an open call whose
    figures are written; its slack is kept negative) is screened exactly (``_exact``) and
    derived once at the end; its slack becomes its cushion again (−1 when in alert or
    pinned).

    Every exact screening is reported as (slot, k) in ``out_slot/out_k`` (in k order);
    returns how many. ``mark`` (one byte per slot) is zero on entry and on return. ``statef``
    is ``state`` viewed as float64 (the bound). Serial: an account's holdings must not race
    on ``state[a]``."""
    m = 0
    for k in range(len(lo)):
        if skip[k]:
            continue
        o2, o1, o0 = old_units[k, 0], old_units[k, 1], old_units[k, 2]
        n2, n1, n0 = new_units[k, 0], new_units[k, 1], new_units[k, 2]
        du = abs(float(n2 - o2) + float(n1 - o1) * 1e-6 + float(n0 - o0) * 1e-12) * (1 + 1e-9)
        ex = excluded[k]
        for j in range(lo[k], hi[k]):
            # the hot loop: one read-modify-write of slack (a pinned account's is always
            # negative, so pinned needs no look) and one store
            a = h_slot[j]
            if h_weight[j] == 0.0:
                continue
            slack[a] -= h_weight[j] * du + 4.0
            if slack[a] >= 0:
                stale[a] = 1
                continue
            m = _exact(
                state, statef, mark, stale, out_slot, out_k, out_fresh, m, k, a, h_qty[j],
                h_fac, j, o2, o1, o0, n2, n1, n0, ex,
            )  # fmt: skip
        for e in range(ex_seg[k], ex_seg[k + 1]):
            r = ex_pos[e]
            a, q = pos_slot[r], pos_qty[r]
            if q == 0:
                continue
            slack[a] -= holding_weight(q, pos_fac, r) * du + 4.0
            if slack[a] >= 0:
                stale[a] = 1
                continue
            m = _exact(
                state, statef, mark, stale, out_slot, out_k, out_fresh, m, k, a, q,
                pos_fac, r, o2, o1, o0, n2, n1, n0, ex,
            )  # fmt: skip
    for i in range(m):  # each account screened exactly, derived once
        a = out_slot[i]
        if mark[a] == 1:
            _store(
                state, a, state[a, O_CASH], state[a, O_LONG], state[a, O_SHORT],
                state[a, O_EXCLUDED], state[a, O_IM], state[a, O_MCM], state[a, O_MM],
                state[a, O_FM], params,
            )  # fmt: skip
            slack[a] = cushion(state, a, pinned[a])
        mark[a] = 0
    return m


@kernel
def watched_slots(lo, hi, ex_pos, h_slot, h_qty, pos_slot, pos_qty, pinned, state, mark, out):
    """MC-1: the holders of one instrument whose call state a tick may have to write, each
    once: quantity ≠ 0 and pinned (an open call) or in alert. The holdings are the
    holder-major records ``h_slot/h_qty[lo:hi]`` plus the appended positions ``ex_pos``;
    ``mark`` is zero on entry and on return; returns how many slots are in ``out``. (A
    hash-based unique of every holder cost ~0.5 ms per liquid instrument; this is one
    sequential pass.)"""
    m = 0
    for j in range(lo, hi):
        a = h_slot[j]
        if h_qty[j] != 0 and mark[a] == 0 and (pinned[a] != 0 or state[a, O_ALERT] != ALERT_NONE):
            mark[a] = 1
            out[m] = a
            m += 1
    for e in range(len(ex_pos)):
        r = ex_pos[e]
        a = pos_slot[r]
        if pos_qty[r] != 0 and mark[a] == 0 and (pinned[a] != 0 or state[a, O_ALERT] != ALERT_NONE):
            mark[a] = 1
            out[m] = a
            m += 1
    for i in range(m):
        mark[out[i]] = 0
    return m


@kernel
def cushion(state, a, pinned):
    """The slack an account starts with (``reprice_instruments``): lna − max(req_mm, req_fm)
    cents when it is out of alert and not pinned, else −1 (always screened exactly)."""
    if pinned or state[a, O_ALERT] != ALERT_NONE:
        return -1.0
    top = state[a, O_MM] if state[a, O_MM] > state[a, O_FM] else state[a, O_FM]
    return float(state[a, O_LNA] - top)


@kernel
def reset_slack(slots, state, pinned, oversized, slack, stale):
    """After ``slots`` were computed from scratch: current (not stale), slack = cushion."""
    for i in range(len(slots)):
        a = slots[i]
        stale[a] = 0
        slack[a] = -1.0 if oversized[a] else cushion(state, a, pinned[a])


# ---------------------------------------------------------------------- stress (ST-7)


#: Columns of the packed instrument rows for the stress kernel.
S_U2, S_U1, S_U0, S_FRR, S_LEVEL = range(5)


@parallel_kernel
def client_collateral(
    n_chunks, client_offsets, client_accounts, pos_offsets, pos_instr, pos_qty,
    cash_offsets, cash_ccy, cash_amt, fx, rows,
    o_loan, o_la, impact_rows, mv_rows, held_rows, level_rows, scratch, mark, touched,
):  # fmt: skip
    """ST-7 in one pass over each client's positions (clients split into ``n_chunks``).

    Per client: loan = max(−Σ cash, 0), la = Σ round(frr × mv) over long positions. For an
    indebted client, la(c, s) is aggregated over its accounts (``scratch``/``mark``/``touched``)
    and ``impact[s] += max(loan − la + la(c, s), 0) − max(loan − la, 0)`` is scattered into the
    chunk's row, with the long market value per stock and per level (mix).
    """
    n_clients = len(client_offsets) - 1
    for k in prange(n_chunks):
        lo = k * n_clients // n_chunks
        hi = (k + 1) * n_clients // n_chunks
        for c in range(lo, hi):
            cash = 0
            la = 0
            for j in range(client_offsets[c], client_offsets[c + 1]):
                a = client_accounts[j]
                for t in range(cash_offsets[a], cash_offsets[a + 1]):
                    cash += signed_mul_div_round(cash_amt[t], fx[cash_ccy[t]], FX_SCALE)
                for p in range(pos_offsets[a], pos_offsets[a + 1]):
                    q = pos_qty[p]
                    if q > 0:
                        i = pos_instr[p]
                        mv = market_value_cents(q, rows[i, S_U2], rows[i, S_U1], rows[i, S_U0])
                        la += factor_line(mv, rows[i, S_FRR])
            loan = -cash if cash < 0 else 0
            o_loan[c] = loan
            o_la[c] = la
            if loan == 0:
                continue
            base = loan - la
            short = base if base > 0 else 0
            n_touched = 0
            for j in range(client_offsets[c], client_offsets[c + 1]):
                a = client_accounts[j]
                for p in range(pos_offsets[a], pos_offsets[a + 1]):
                    q = pos_qty[p]
                    if q > 0:
                        i = pos_instr[p]
                        mv = market_value_cents(q, rows[i, S_U2], rows[i, S_U1], rows[i, S_U0])
                        if mark[k, i] != c + 1:
                            mark[k, i] = c + 1
                            scratch[k, i] = 0
                            touched[k, n_touched] = i
                            n_touched += 1
                        scratch[k, i] += factor_line(mv, rows[i, S_FRR])
                        mv_rows[k, i] += mv
                        level_rows[k, rows[i, S_LEVEL]] += mv
            for t in range(n_touched):
                i = touched[k, t]
                v = base + scratch[k, i]
                impact_rows[k, i] += (v if v > 0 else 0) - short
                held_rows[k, i] += 1


@kernel
def stressed_shortfall(loan, la, keep, out):
    """ST-7 ``shortfall_at(c, x) = max(loan − min(loan, round(la × keep / 10⁶)), 0)`` per
    client, keep = (1 − x)×10⁶; returns the total."""
    total = 0
    for c in range(len(loan)):
        stressed = mul_div_round(la[c], keep, RATIO_SCALE)
        v = loan[c] - (stressed if stressed < loan[c] else loan[c])
        out[c] = v if v > 0 else 0
        total += out[c]
    return total


# ------------------------------------------------------------------------------ bounds


@parallel_kernel
def exposure_bounds(
    n_chunks, client_offsets, client_accounts, pos_offsets, pos_instr, pos_qty,
    cash_offsets, cash_ccy, cash_amt, fx, unit2, out,
):  # fmt: skip
    """Per chunk: out[k] = (max |qty|, max client exposure, Σ exposure), exposure in cents as
    float64: Σ |q|·(unit2 + 1) + Σ |cash|·(fx / 10⁸ + 1) over the client's accounts."""
    n_clients = len(client_offsets) - 1
    for k in prange(n_chunks):
        max_q = 0
        max_client = 0.0
        total = 0.0
        for c in range(k * n_clients // n_chunks, (k + 1) * n_clients // n_chunks):
            exposure = 0.0
            for j in range(client_offsets[c], client_offsets[c + 1]):
                a = client_accounts[j]
                for t in range(cash_offsets[a], cash_offsets[a + 1]):
                    v = cash_amt[t]
                    exposure += (-v if v < 0 else v) * (fx[cash_ccy[t]] / FX_SCALE + 1.0)
                for p in range(pos_offsets[a], pos_offsets[a + 1]):
                    q = pos_qty[p]
                    q = -q if q < 0 else q
                    if q > max_q:
                        max_q = q
                    exposure += q * (unit2[pos_instr[p]] + 1.0)
            if exposure > max_client:
                max_client = exposure
            total += exposure
        out[k, 0] = max_q
        out[k, 1] = max_client
        out[k, 2] = total
