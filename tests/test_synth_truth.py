"""The truth's residence statuses, recomputed independently day by day; the personas and
the rates of identifier noise the generator promises."""

import numpy as np
import polars as pl
import pytest

from regmig.config import SynthConfig
from regmig.synth.generate import Built, build
from regmig.synth.population import PERSONA_CODE, PERSONA_NAMES
from regmig.synth.timeline import NO_DAY
from regmig.synth.travel import edge_patterns
from regmig.synth.truth_rule import apply_rule

V, W = 365, 487


@pytest.fixture(scope="module")
def built() -> Built:
    return build(SynthConfig(persons=12_000, seed=5))


def literal_statuses(days: list[int], arrivals: list[bool], initial: int, present_before: int,
                     last_day: int) -> list[tuple[int, int, bool]]:
    """The definition, one day at a time: presence per day, then the status machine."""
    first_day = days[0]
    presence = []
    side, k = present_before, 0
    for d in range(first_day, last_day + 1):
        while k < len(days) and days[k] == d:
            side = 1 if arrivals[k] else 0
            k += 1
        presence.append(side)
    status, out = initial, []
    for c, arrival in zip(days, arrivals, strict=True):
        window = presence[c - first_day: c - first_day + W]
        assert len(window) == W
        days_in = sum(window)
        before = status
        if arrival and before == 0 and days_in >= V:
            status = 1
        elif not arrival and before == 1 and W - days_in >= V:
            status = 0
        out.append((before, status, status != before))
    return out


def test_rule_on_hand_made_histories():
    # person 0: arrives, leaves 365 days later (both qualify: the stay, then for good);
    # person 1: 364 days (neither); person 2: resident, out and in on one day;
    # person 3: resident, out for exactly V days, then back for good;
    # person 4: visitor, in and out on one day
    person = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    day = np.array([0, 365, 0, 364, 10, 10, 0, 365, 5, 5])
    arrival = np.array([True, False, True, False, False, True, False, True, True, False])
    initial = np.array([0, 0, 1, 1, 0], dtype=np.int8)
    r = apply_rule(person, day, arrival, initial, V, W, data_end=2000)
    assert r.long_term.tolist() == [True, True, False, False, False, False, True, True,
                                    False, False]
    assert r.days_in_window[:4].tolist() == [365, 0, 364, 0]
    assert r.days_in_window[4] == W  # out and back on one day: 0 days out
    assert r.days_in_window[8] == 0  # in and out on one day: 0 days in
    assert r.status_after.tolist() == [1, 0, 0, 0, 1, 1, 0, 1, 0, 0]


def test_truth_statuses_agree_with_a_day_by_day_recount(built: Built):
    c, pop, span = built.crossings, built.population, built.span
    status = built.truth["crossing_status"]
    travellers = np.unique(c.person)
    rng = np.random.default_rng(0)
    edge = travellers[np.isin(pop.persona[travellers],
                              [PERSONA_CODE["edge_resident"], PERSONA_CODE["edge_visitor"]])]
    chosen = np.union1d(edge, rng.choice(travellers, 250, replace=False))
    starts = np.searchsorted(c.person, chosen, side="left")
    ends = np.searchsorted(c.person, chosen, side="right")
    by_person = status.partition_by("person_id", as_dict=True)
    for p, lo, hi in zip(chosen, starts, ends, strict=True):
        days = c.day[lo:hi].tolist()
        arrivals = c.arrival[lo:hi].tolist()
        initial = 1 if pop.resident_at_start[p] else 0
        expected = literal_statuses(days, arrivals, initial, 0 if arrivals[0] else 1,
                                    max(days) + W)
        in_span = [e for d, e in zip(days, expected, strict=True) if d <= span.end]
        if (int(p) + 1,) not in by_person:  # every crossing after the data end
            assert in_span == []
            continue
        got = by_person[(int(p) + 1,)].sort("seq").select(
            "res_status_before", "res_status_after", "is_long_term_migration").rows()
        assert [(int(a), int(b), bool(x)) for a, b, x in got] == in_span, PERSONA_NAMES[
            pop.persona[p]]


def test_decided_by_data_end_means_the_observed_days_settle_it(built: Built):
    status = built.truth["crossing_status"]
    end = built.span.end
    closed = status.filter(pl.col("crossing_date").dt.epoch("d") + W - 1 <= end)
    assert closed["decided_by_data_end"].all()
    # a crossing in the last days of the data can rarely be settled already
    late = status.filter(pl.col("crossing_date").dt.epoch("d") > end - 30)
    assert late["decided_by_data_end"].mean() < 0.9
    assert 0 < status["decided_by_data_end"].mean() < 1


def test_edge_stays_of_11_12_and_13_months_exist(built: Built):
    c, pop = built.crossings, built.population
    edge = np.isin(pop.persona[c.person], [PERSONA_CODE["edge_visitor"]])
    same = np.r_[c.person[1:] == c.person[:-1], False]
    stay = (c.day[1:] - c.day[:-1])[(edge & c.arrival & same)[:-1]]
    for length in (V - 30, V - 1, V, V + 1, V + 31):
        assert (stay == length).sum() > 0, length
    assert any(len(p) == 2 for p in edge_patterns(V, W))  # 12 months in 16 with a break
    ltm = built.truth["migration_events"].join(
        built.truth["persons"].filter(pl.col("persona") == "edge_visitor"), on="person_id")
    assert ltm.height > 0


def test_personas_exist_in_the_deliveries(built: Built):
    truth = built.truth
    persons = truth["persons"]
    counts = dict(persons.group_by("persona").len().iter_rows())
    assert set(counts) == set(PERSONA_NAMES)
    assert persons.filter(pl.col("persona") == "visitor")["in_register"].sum() == 0
    assert persons.filter(pl.col("persona") == "stayer")["in_register"].all()
    assert (persons["citizenship"] != persons["citizenship_final"]).sum() == counts[
        "naturalised"]
    register = built.deliveries["population_register"].frame
    reasons = register["deregistration_reason"].value_counts()
    assert set(reasons["deregistration_reason"].drop_nulls()) >= {"emigration", "death"}
    permits = built.deliveries["permits"].frame
    kinds = set(zip(permits["permit_type"], permits["application_kind"], permits["decision"],
                    strict=True))
    for expected in [("work", "first", "granted"), ("work", "extension", "refused"),
                     ("asylum", "first", "refused"), ("asylum", "appeal", "granted"),
                     ("humanitarian", "first", "granted"), ("study", "extension", "granted"),
                     ("family", "first", "granted"), ("work", "renewal", "granted")]:
        assert expected in kinds, expected
    # the commuters' land crossings stay within a few hundred per person
    crossings = truth["crossings"].join(persons, on="person_id")
    per_commuter = crossings.filter(pl.col("persona") == "commuter").group_by(
        "person_id").len()["len"]
    assert 50 < per_commuter.mean() < 400
    assert 7 < crossings.height / persons.height < 13


def test_documents_renewed_dual_and_id_cards(built: Built):
    border = built.deliveries["border_crossings"]
    frame = border.frame.with_columns(person=pl.Series(border.person))
    docs = frame.group_by("person").agg(
        pl.col("document_number").filter(pl.col("document_type") == "passport")
        .n_unique().alias("passports"),
        pl.col("document_country").n_unique().alias("countries"),
        (pl.col("document_type") == "id_card").any().alias("card"))
    assert docs.filter((pl.col("passports") >= 2) & (pl.col("countries") == 1)).height > 0
    assert docs.filter(pl.col("countries") >= 2).height > 0  # dual citizens
    assert docs["card"].sum() > 0


def test_most_emigrants_never_deregister(built: Built):
    pop, ev, span = built.population, built.events, built.span
    emigrants = pop.of("emigrant")
    # those who left early enough that the registry would have heard by the data end
    left = emigrants[(ev.departure[emigrants] != NO_DAY)
                     & (ev.departure[emigrants] <= span.end - 120)]
    register = built.deliveries["population_register"]
    told = np.zeros(len(pop), dtype=bool)
    told[register.person[(register.frame["deregistration_reason"] == "emigration")
                         .fill_null(False).to_numpy()]] = True
    never = 1 - told[left].mean()
    config = built.config.emigrant_never_deregisters
    assert len(left) > 150
    assert abs(never - config) < 4 * np.sqrt(config * (1 - config) / len(left))


def _within(hits: int, n: int, rate: float) -> bool:
    """A binomial count within 4.5 standard deviations of its expectation."""
    return abs(hits - n * rate) <= 4.5 * np.sqrt(n * rate * (1 - rate)) + 2


@pytest.mark.parametrize("source", ["border_crossings", "population_register", "permits"])
def test_noise_rates_come_out_as_configured(built: Built, source: str):
    rates = built.rates[source]
    d = built.deliveries[source]
    frame, clean = d.frame, d.clean
    n = frame.height
    persons = built.truth["persons"]
    true_sex = persons["sex"].gather(d.person)
    true_dob = persons["date_of_birth"].gather(d.person)
    assert _within(int(frame["sex"].is_null().sum()), n, rates.sex_missing)
    has_dob = true_dob.is_not_null()
    missing = frame["date_of_birth"].is_null() & has_dob
    assert _within(int(missing.sum()), int(has_dob.sum()), rates.dob_missing)
    kept = frame["date_of_birth"].is_not_null() & has_dob
    dob, truth = frame["date_of_birth"].filter(kept), true_dob.filter(kept)
    swappable = (truth.dt.day() <= 12) & (truth.dt.day() != truth.dt.month())
    swapped = ((dob.dt.day() == truth.dt.month()) & (dob.dt.month() == truth.dt.day())
               & swappable)
    # a share of all records (only dates with a day up to 12 can be swapped)
    assert _within(int(swapped.sum()), int(kept.sum()), rates.dob_day_month_swap)
    assert (dob.filter(~swapped) == truth.filter(~swapped)).all()
    assert (frame["sex"].drop_nulls() == true_sex.filter(frame["sex"].is_not_null())).all()
    codes = pl.Series(built.codes)
    true_citizenship = codes.gather(clean.citizenship.astype(np.int64))
    wrong = frame["citizenship"] != true_citizenship
    assert _within(int(wrong.sum()), n, rates.citizenship_wrong)
    if source != "border_crossings":
        has_doc = clean.document >= 0
        lost = frame["document_number"].is_null().to_numpy() & has_doc
        assert _within(int(lost.sum()), int(has_doc.sum()), rates.document_missing)

    names = built_names()
    forms = [set([name]) | set(names.variants[names.variant_start[i]:names.variant_start[i + 1]])
             for i, name in enumerate(names.canonical)]
    variants = [f - {names.canonical[i]} for i, f in enumerate(forms)]
    given, surname = frame["given_name"].to_list(), frame["surname"].to_list()
    swaps = typos = translits = 0
    for g, s, gid, sid in zip(given, surname, clean.given_id, clean.surname_id, strict=True):
        if g in forms[sid] and s in forms[gid] and not (g in forms[gid] and s in forms[sid]):
            swaps += 1
            g, s = s, g
        if g not in forms[gid] or s not in forms[sid]:
            typos += 1
        if g in variants[gid] or s in variants[sid]:
            translits += 1
    assert _within(swaps, n, rates.name_swap)
    assert _within(typos, n, rates.typo)
    assert _within(translits, n, rates.transliteration)


def built_names():
    from regmig.synth.names import build_name_table
    return build_name_table()


def test_unrecorded_crossings_come_out_as_configured(built: Built):
    crossings = built.truth["crossings"]
    missed = int((~crossings["recorded"]).sum())
    assert _within(missed, crossings.height,
                   built.rates["border_crossings"].crossing_not_recorded)


def test_noise_scale_zero_turns_every_noise_off():
    quiet = build(SynthConfig(persons=400, seed=2, noise_scale=0.0))
    assert all(rate == 0 for rates in quiet.rates.values() for rate in rates.as_dict().values())
    for delivered in quiet.deliveries.values():
        assert not any(flag.any() for flag in delivered.flags.values())
    assert quiet.truth["crossings"]["recorded"].all()


def test_each_source_has_its_own_noise_scale():
    config = SynthConfig(persons=600, seed=4, noise_scale_permits=0.0,
                         noise_scale_population_register=3.0)
    mixed = build(config)
    assert not any(flag.any() for flag in mixed.deliveries["permits"].flags.values())
    assert mixed.rates["population_register"].transliteration == pytest.approx(0.3)
    assert mixed.deliveries["border_crossings"].flags["transliteration"].any()
