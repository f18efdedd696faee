"""Step 6 of the estimate chain: checks of the estimates: the backtest of the provisional
model (`backtest`) and the totals under other rules (`sensitivity`)."""
