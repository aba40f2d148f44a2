"""The shipped comparison's blocks: its tables and readings, written from its data.

The readings are templates: whether a method beats another, loses to it or is inconsistent
across seeds is decided by the paired tests, never typed in.
"""

from __future__ import annotations

from collections.abc import Sequence

from comparison_data import ATTACKS, FOCUS, Comparison
from prose import Setting, listing, pct, seeds_text, setting_name, table, where, wrap

from bench.contracts.indicators import RANKING_ATTACK
from bench.evaluation.statistics import holm_family, paired_comparison, wilson_interval

CURVE_STEPS = (10, 25, 50, 100, 200)  # where the convergence reading samples a curve
ATTACK_NAMES = {RANKING_ATTACK: "standard", "pgd": "PGD-200"}


def interval_text(right: int, n: int) -> str:
    low, high = wilson_interval(right, n)
    return f"{pct(right / n)} [{pct(low)}, {pct(high)}]"


def results_table(data: Comparison) -> str:
    """Accuracy in % with its 95% Wilson interval, per method, seed and setting; under attack
    the worst case over both attacks, each attack's own number beside it."""
    header = ["Method", "Seed", "n", "Clean"]
    header += [f"Eps {b:g}: worst case (standard, PGD-200)" for b in data.budgets]
    rows = []
    for method in data.methods:
        for seed in data.seeds:
            counts = [data.accuracy(method, seed, s) for s in data.settings]
            values = [interval_text(right, n) for right, n in counts]
            for i, budget in enumerate(data.budgets, start=1):
                own = [
                    pct(data.attack_accuracy(method, seed, budget, attack))
                    + ("" if data.converged(method, seed, budget, attack) else " †")
                    for attack in ATTACKS
                ]
                values[i] += f" ({', '.join(own)})"
            sizes = "/".join(str(n) for n in sorted({n for _, n in counts}))
            rows.append([method, str(seed), sizes, *values])
    return table(header, rows)


def paired_table(data: Comparison) -> str:
    """Each pair's A - B per seed (exact McNemar, * Holm-adjusted p < 0.05 over the table's
    tests, ≈ TOST-equivalent within ±2 points) and what they say together."""
    rows = []
    for a, b in data.pairs():
        words = {"wins": f"**{a} better**", "loses": f"**{b} better**"}
        row = [f"{a} vs {b}"]
        for setting in data.settings:
            verdict = data.verdict(a, b, setting)
            row.append(f"{verdict.per_seed()}: {words.get(verdict.kind, verdict.kind)}")
        rows.append(row)
    return table(["A vs B", *(setting_name(s).capitalize() for s in data.settings)], rows)


def pair_headline(data: Comparison, a: str, b: str) -> str:
    """One bold sentence: where A beats B in every seed, where it loses, or neither."""
    kinds = {s: data.verdict(a, b, s).kind for s in data.settings}
    wins = [s for s, k in kinds.items() if k == "wins"]
    losses = [s for s, k in kinds.items() if k == "loses"]
    if len(wins) == len(kinds):
        return f"**{a} beats {b}, clean and at every budget, in every seed.**"
    if len(losses) == len(kinds):
        return f"**{a} loses to {b}, clean and at every budget, in every seed.**"
    if not wins and not losses:
        return (
            f"**{a} is not shown to beat {b}, clean or under attack, nor {b} to beat it**:"
            " in no setting do the tests of every seed agree on a winner."
        )
    parts = [f"beats {b} {where(wins)}"] if wins else []
    parts += [f"loses to {b} {where(losses)}"] if losses else []
    return f"**{a} {' and '.join(parts)}, in every seed**; elsewhere no winner holds across seeds."


def pair_reading(data: Comparison, a: str, b: str) -> str:
    """The headline, each seed's clean accuracy, and what the other settings are made of."""
    clean = {m: ", ".join(pct(data.rate(m, s, None)) for s in data.seeds) for m in (a, b)}
    text = [
        pair_headline(data, a, b),
        f"Clean, {seeds_text(data.seeds)}: {a} {clean[a]}%; {b} {clean[b]}%.",
    ]
    mixed, quiet, same = [], [], []
    for setting in data.settings:
        verdict = data.verdict(a, b, setting)
        if verdict.kind == "not significant":
            quiet.append(setting)
        elif verdict.kind.startswith("equivalent"):
            same.append(setting)
        elif verdict.kind == "inconsistent across seeds":
            better, worse = verdict.significant_seeds(True), verdict.significant_seeds(False)
            said = [f"better with {seeds_text(better)}"] if better else []
            said += [f"worse with {seeds_text(worse)}"] if worse else []
            mixed.append(f"{setting_name(setting)} (significantly {' and '.join(said)} only)")
    if mixed:
        text.append(f"Inconsistent across seeds: {'; '.join(mixed)}.")
    if quiet:
        text.append(f"Not significant in any seed: {listing([setting_name(s) for s in quiet])}.")
    if same:
        text.append(
            f"Equivalent within ±2 points (TOST) in every seed:"
            f" {listing([setting_name(s) for s in same])}."
        )
    return " ".join(text)


def claims_reading(data: Comparison) -> str:
    """Whether the focus method's paper claims (better clean, better under attack) hold here."""
    baselines = [m for m in data.methods if m != FOCUS]

    def support(settings: Sequence[Setting]) -> str:
        kinds = [data.verdict(FOCUS, b, s).kind for b in baselines for s in settings]
        if all(k == "wins" for k in kinds):
            return "supported"
        return "contradicted" if "loses" in kinds else "not supported, nor refuted"

    return (
        f"**The claims of the paper {FOCUS} reconstructs** ([dual_denoise.md](dual_denoise.md))"
        f" at this scale: higher clean zero-shot accuracy than its baselines:"
        f" {support([None])}; higher accuracy under attack: {support(data.budgets)}. A claim"
        " is supported only where it wins against every baseline in every seed, and"
        " contradicted where a baseline wins in every seed."
    )


def chance_reading(data: Comparison) -> str:
    """Which methods are above chance clean: the interval's low end above it, seed by seed."""
    above: list[str] = []
    below: list[str] = []
    for method in data.methods:
        lows = [wilson_interval(*data.accuracy(method, s, None))[0] for s in data.seeds]
        failing = [s for s, low in zip(data.seeds, lows, strict=True) if low <= data.chance]
        if not failing:
            above.append(method)
        else:
            rates = ", ".join(pct(data.rate(method, s, None)) for s in data.seeds)
            seeds = "in any seed" if failing == data.seeds else f"with {seeds_text(failing)}"
            below.append(f"{method} is not above it {seeds} ({rates}% clean)")
    text = f"**Chance is {pct(data.chance)}%** ({data.samples['label'].nunique()} classes)."
    if above:
        text += f" Clean, {listing(above)} {'is' if len(above) == 1 else 'are'} above chance"
        text += " in every seed (the 95% interval's low end above it)"
    return text + ("; " + "; ".join(below) if below else "") + "."


def robustness_headline(data: Comparison) -> str:
    """From which budget on every model is below chance, if one is."""
    cells = [(m, s) for m in data.methods for s in data.seeds]
    below = [b for b in data.budgets if all(data.rate(*c, b) < data.chance for c in cells)]
    if below and all(b in below for b in data.budgets if b >= below[0]):
        start = "at every budget" if below[0] == data.budgets[0] else f"from eps {below[0]:g} on"
        return (
            f"**No miniature is robust**: {start} every method and seed is below chance"
            f" ({pct(data.chance)}%)."
        )
    return f"**Some model stays above chance ({pct(data.chance)}%) at every budget.**"


def robustness_reading(data: Comparison) -> str:
    """The headline, and the most robust cell at the smallest and at the largest budget."""
    cells = [(m, s) for m in data.methods for s in data.seeds]

    def best(budget: float) -> str:
        method, seed = max(cells, key=lambda c: data.rate(*c, budget))
        return f"{pct(data.rate(method, seed, budget))}% at eps {budget:g} ({method} seed {seed})"

    extremes = [best(data.budgets[0]), best(data.budgets[-1])]
    return f"{robustness_headline(data)} The most robust cells: {'; '.join(extremes)}."


def convergence_reading(data: Comparison) -> str:
    """How many attacked cells converged, example curves, and what rests on the others."""
    attacked = [(m, s, b) for m in data.methods for s in data.seeds for b in data.budgets]
    flagged = {a: [c for c in attacked if not data.converged(*c, a)] for a in ATTACKS}
    counts = [
        f"{len(attacked) - len(flagged[a])} of the {len(attacked)} {ATTACK_NAMES[a]} cells"
        for a in ATTACKS
    ]
    text = (
        f"**Convergence.** {listing(counts)} lost at most 0.5 points (or at most one sample)"
        " over the last half of their steps (for standard: of each member's steps)"
    )
    described = []
    for method, seed, budget in flagged[RANKING_ATTACK]:
        sentences = data.cell(method, seed, budget).warnings.split("; ")
        members = [w.split(":")[0] for w in sentences if ": not converged" in w]
        described.append(f"{method} seed {seed} at eps {budget:g} ({', '.join(members)})")
    if described:
        text += f"; the flagged standard cells (†, by member): {'; '.join(described)}"
    described = []
    for method, seed, budget in flagged["pgd"]:
        curve = data.curve(method, seed, budget)
        half, end = curve[(len(curve) - 1) // 2], curve[-1]
        described.append(f"{method} seed {seed} at eps {budget:g}, {pct(half)} to {pct(end)}%")
    if described:
        text += f"; the flagged PGD-200 cells (†): {'; '.join(described)}"
    seed, budget = data.seeds[0], data.budgets[0]
    curves = []
    for method in data.methods:
        curve = data.curve(method, seed, budget)
        curves.append(f"{method} {', '.join(pct(curve[k]) for k in CURVE_STEPS)}%")
    text += (
        f". PGD-200, seed {seed} at eps {budget:g}, after"
        f" {listing([str(k) for k in CURVE_STEPS])} steps: {'; '.join(curves)}."
    )
    any_flagged = {c for cells in flagged.values() for c in cells}
    if not any_flagged:
        return text
    resting = [
        f"{a} vs {b} seed {seed} at eps {budget:g}"
        for a, b in data.pairs()
        for budget in data.budgets
        for seed, test in zip(data.seeds, data.verdict(a, b, budget).tests, strict=True)
        if test.significant() and ({(a, seed, budget), (b, seed, budget)} & any_flagged)
    ]
    if resting:
        return text + (
            f" Significant tests that rest on a flagged cell (its accuracy is an upper bound"
            f" until a longer run confirms it): {'; '.join(resting)}."
        )
    return text + " No significant paired test rests on a flagged cell."


def ranking_reading(data: Comparison) -> str:
    """The ranking attack against PGD-200 on the same clouds, and where PGD was stronger."""
    tests = data.ranking_tests
    stronger = sum(t.difference < 0 for t in tests.values())
    weaker = sum(t.difference > 0 for t in tests.values())
    beaten = [
        f"{m} seed {s} at eps {b:g} ({pct(t.accuracy_b)}% vs {pct(t.accuracy_a)}%)"
        for (m, s, b), t in tests.items()
        if t.difference > 0 and t.significant()
    ]
    won = sum(t.difference < 0 and t.significant() for t in tests.values())
    text = (
        f"**Standard against PGD-200** on the same clouds: standard left fewer clouds robust"
        f" in {stronger} of the {len(tests)} attacked cells and more in {weaker}; it fooled"
        f" significantly more in {won} (exact McNemar, Holm-adjusted over these"
        f" {len(tests)})."
    )
    if beaten:
        return text + f" PGD-200 fooled significantly more (indicator s) in {'; '.join(beaten)}."
    return text + " PGD-200 fooled significantly more in none (indicator s stays silent)."


def eot_reading(data: Comparison, method: str) -> str:
    """For a stochastic victim: whether EOT and the naive run fool the same clouds."""
    cells = [(a, s, b) for a in ATTACKS for s in data.seeds for b in data.budgets]
    stats = []
    for attack, seed, budget in cells:
        rows = data.rows(method, seed, budget, attack)
        eot = rows["clean"] & (rows["adv_pred"] == rows["label"])
        naive = rows["clean"] & (rows["adv_pred_naive"] == rows["label"])
        test = paired_comparison(list(eot), list(naive))
        stats.append((attack, seed, budget, eot.mean(), naive.mean(), rows["robust"].mean(), test))
    tests = holm_family([x[6] for x in stats])  # the family: this reading's tests
    apart = [x for x in stats if x[5] < min(x[3], x[4])]
    attack, seed, budget, eot, naive, worst, _ = max(stats, key=lambda x: min(x[3], x[4]) - x[5])
    fewer = sum(x[3] < x[4] for x in stats)
    more = sum(x[3] > x[4] for x in stats)
    significant = sum(t.significant() for t in tests)
    head = (
        "**EOT and the naive run fool different clouds**"
        if apart
        else "**The worst case is the stronger run's in every cell**"
    )
    counts = [f"fewer clouds robust than the naive run in {fewer}", f"more in {more}"]
    counts += [f"as many in {len(stats) - fewer - more}"] if fewer + more < len(stats) else []
    return (
        f"{head} ({method}): in {len(apart)} of its {len(stats)} attacked cells the worst case"
        f" over both runs is below either run alone (largest gap: {ATTACK_NAMES[attack]}, seed"
        f" {seed}, eps {budget:g}:"
        f" naive {pct(naive)}%, EOT {pct(eot)}%, worst case {pct(worst)}%). EOT left"
        f" {listing(counts)}; the paired test between the two runs (exact McNemar, Holm-adjusted"
        f" over these {len(tests)}) is significant in {significant or 'none'} of them."
    )


def survivors_reading(data: Comparison) -> str:
    """The clouds still standing at the largest budget, and whether they separate methods."""
    budget = data.budgets[-1]
    kept = []
    for method in data.methods:
        robust = ", ".join(str(data.accuracy(method, s, budget)[0]) for s in data.seeds)
        clean = ", ".join(str(data.accuracy(method, s, None)[0]) for s in data.seeds)
        kept.append(f"{method} {robust} (of {clean} right clean)")
    kinds = {(a, b): data.verdict(a, b, budget).kind for a, b in data.pairs()}
    if all(k == "not significant" or k.startswith("equivalent") for k in kinds.values()):
        same = [f"{a} vs {b}" for (a, b), k in kinds.items() if k != "not significant"]
        open_ = [f"{a} vs {b}" for (a, b), k in kinds.items() if k == "not significant"]
        tests = "No paired test at this budget is significant"
        tests += f"; equivalent within ±2 points in every seed: {listing(same)}" if same else ""
        tests += f"; not shown equivalent either: {listing(open_)}" if open_ else ""
        tests += "."
    else:
        said = [f"{a} vs {b} {k}" for (a, b), k in kinds.items()]
        tests = f"Paired tests at this budget: {'; '.join(said)}."
    return (
        f"**At eps {budget:g}** the clouds left robust, {seeds_text(data.seeds)}:"
        f" {'; '.join(kept)}. {tests}"
    )


def results_readings(data: Comparison) -> str:
    bullets = [pair_reading(data, a, b) for a, b in data.pairs()]
    if FOCUS in data.methods:
        bullets.append(claims_reading(data))
    bullets += [chance_reading(data), robustness_reading(data), ranking_reading(data)]
    bullets.append(convergence_reading(data))
    stochastic = data.cells.groupby("method")["stochastic"].any()
    bullets += [eot_reading(data, m) for m in data.methods if stochastic[m]]
    bullets.append(survivors_reading(data))
    return "".join(wrap(bullet, bullet=True) for bullet in bullets)


def per_class_table(data: Comparison) -> str:
    """Clean accuracy per unseen class, pooled over seeds, with the commonest wrong answer."""
    clean = data.samples[data.samples["budget"].isna()]
    names = clean.groupby("label")["class_name"].first()
    accuracy: dict[tuple[str, str], float] = {}
    rows = []
    for label, name in names.items():
        row = [name, str(int((clean["label"] == label).sum()) // len(data.methods))]
        for method in data.methods:
            own = clean[(clean["label"] == label) & (clean["method"] == method)]
            accuracy[name, method] = float(own["clean"].mean())
            wrong = own.loc[~own["clean"], "clean_pred"]
            answer = f" ({names[wrong.mode()[0]]})" if len(wrong) else ""
            row.append(f"{pct(accuracy[name, method])}{answer}")
        rows.append(row)
    never = [n for n in names if all(accuracy[n, m] < data.chance for m in data.methods)]
    name, method = max(accuracy, key=lambda key: accuracy[key])
    summary = wrap(
        f"Below chance for every method: {listing(never) if never else 'no class'}."
        f" Best transferred: {name} ({method}, {pct(accuracy[name, method])}%)."
    )
    return table(["Class", "n per method", *data.methods], rows) + "\n" + summary


def readme_headline(data: Comparison) -> str:
    """The comparison's answer, in the README: the focus method against each baseline."""
    n = sorted({data.accuracy(m, s, None)[1] for m in data.methods for s in data.seeds})
    bullets = [pair_headline(data, FOCUS, b) for b in data.methods if b != FOCUS]
    bullets.append(robustness_headline(data))
    intro = wrap(
        f"The shipped comparison ({len(data.methods)} methods, {len(data.seeds)} training seeds"
        f" each, {'/'.join(map(str, n))} unseen-class clouds; under attack, the per-sample worst"
        f" case of `standard`, the ranking attack, and PGD-200; exact McNemar tests per seed,"
        f" Holm-adjusted over the {data.family} tests of the paired table):"
    )
    return intro + "\n" + "".join(wrap(b, bullet=True) for b in bullets)
