"""Step 3 of the estimate chain: the provisional model.

Provisional probabilities for crossings whose outcome is still open at the data end.

A crossing near the end of the data may not be decided yet: its window has not closed and
the days observed so far neither reach V on its own side nor exceed W - V on the other.
Its probability of qualifying comes from a logistic model trained on EARLIER crossings
as they looked at the same lag: for a crossing made L days before the data end, the
model sees the days observed so far on its own side and on the other, which side the
person is on now and for how long, citizenship group, country of birth, sex, age, the
permit held (whether it runs a year or more, the years it has left, whether one was held
on the crossing day or ran out since), the register (registered, or deregistered, for
emigration or otherwise, by then) and the travel history (crossings in the year before,
and since), all as known on that day (a permit decided later, or a crossing imputed
from later records, not yet).

Arrivals and departures have a model each per lag band (provisional_lag_step_days wide),
fitted from the last band to the first: a crossing seen undecided at a lag in band j is
labelled with what the data end says of it, its outcome when settled, else the
probability the later bands give it as it stands at the data end. So the first bands
learn from crossings made weeks before the data end, not only from those whose window
has closed, and a changing population reaches the estimates at once (a single model on
closed windows lagged by more than W, and on synthetic data under-estimated a rising
emigration by 5-20%).

Totals add the probabilities. Their variance is the Bernoulli variance plus a model error
term (a relative standard deviation of totals estimated by time-blocked cross-validation
on the training crossings), which gives the interval.

Modules, in order: features (the state of a crossing as seen on a day), logistic (the
solver), training (the models per lag band, and their error), scoring (probabilities of
the open crossings), intervals (of totals).
"""
