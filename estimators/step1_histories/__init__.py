"""Step 1 of the estimate chain: crossing histories and their repair.

`sequences` orders each person's crossings and makes arrivals and departures alternate
(the repair policy); `gaps` places a crossing missing between two recorded ones;
`ends` imputes missing first arrivals and last departures from register and permit
evidence."""
