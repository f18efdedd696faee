"""Stage 3, estimate: from linked crossings to migration events, totals and stocks.

The chain, in the order the data flow through it (each step imports only the steps
before it; tests/test_estimate_layering.py checks):

1. `step1_histories`: each person's crossings in time order, broken sequences repaired
   (a crossing the border never recorded imputed inside the gap, or at the ends of the
   history from register and permit evidence);
2. `step2_rule`: the initial residence status and the V/W residence rule: status before
   and after every crossing, the long-term flag, and when each became known;
3. `step3_provisional`: probabilities of the crossings whose outcome is still open at the
   data end (features, the logistic solver, training, scoring, intervals);
   `chain.run_rule` applies steps 1-3 at one data end;
4. `step4_events`: migration events (final and provisional) and their totals by period;
5. `step5_stocks`: resident population on each reference date, residence spells;
6. `step6_checks`: the backtest of the provisional estimates and the rule sensitivity.

`inputs` reads what the stage needs from the warehouse, `stage` runs the chain and
writes its tables, `command` and `classify_command` are the `regmig estimate` and
`regmig classify` commands.
"""
