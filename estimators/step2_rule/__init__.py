"""Step 2 of the estimate chain: the residence rule.

`initial_residence` settles each person's status at the start of observation;
`residence_rule` is the vectorised V/W rule; `classify` is the one path from raw
crossings through step 1 and the rule, shared by the stage and `regmig classify`."""
