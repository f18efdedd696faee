"""derived: per-person results of the residence rule (estimate stage)."""

from regmig.schemas.table_spec import C, Table

CROSSING_STATUS = Table(
    "derived",
    "crossing_status",
    "Each crossing of each person, in order, classified by the residence rule "
    "(unit: cases; imputed rows are crossings the repair added).",
    (
        C("person_id", "BIGINT", "Person who crossed", "NOT NULL"),
        C("record_id", "VARCHAR", "Crossing record id; empty for an imputed crossing"),
        C("crossing_date", "DATE", "Date of the crossing", "NOT NULL"),
        C("direction", "VARCHAR", "arrival | departure", "NOT NULL"),
        C("seq", "INTEGER", "Order of the crossing in the person's history, from 1"),
        C("imputed", "BOOLEAN", "True for a crossing added by sequence repair"),
        C("res_status_before", "TINYINT", "Residence status before the crossing: 1 resident, "
          "0 non-resident"),
        C("res_status_after", "TINYINT", "Residence status after the crossing"),
        C("is_long_term_migration", "BOOLEAN",
          "True when the crossing changes residence status; empty while unresolved"),
        C("resolved", "BOOLEAN", "True when the observed days already decide the crossing"),
        C("date_finalised_ltm", "DATE",
          "Earliest day on which the observed days settle the long-term flag"),
        C("date_finalised_res_after", "DATE",
          "Earliest day on which the status after the crossing is settled"),
        C("date_finalised_res_before", "DATE",
          "Day on which the status before the crossing is settled (the previous "
          "crossing's date_finalised_res_after, or the crossing date)"),
        C("qualifies", "BOOLEAN",
          "True when the days after the crossing reach V on its own side within W days "
          "(a long-term migration if the status before was the opposite); provisional "
          "while unresolved"),
        C("decision_date", "DATE",
          "Day on which the crossing's own days settle whether it qualifies (assuming the "
          "person stays where they are after the data end)"),
        C("outcome_known_on", "DATE",
          "First day whose data settle whether the crossing qualifies (its own days reach "
          "V on its side, or pass W - V on the other); empty when the data do not yet"),
        C("status_before_known_on", "DATE",
          "First day whose data settle the residence status before the crossing; empty "
          "when the data do not yet"),
        C("ltm_known_on", "DATE",
          "First day whose data settle the long-term flag (resolved from then on); empty "
          "while unresolved. With these dates any crossing can be seen as it looked on an "
          "earlier day, as the provisional model and the backtest do"),
        C("probability_ltm", "DOUBLE",
          "Probability of being a long-term migration: 0/1 when resolved, modelled when "
          "provisional"),
        C("rule", "VARCHAR", "Residence rule applied, e.g. 12/16 (V=365, W=487 days)"),
        C("run_id", "VARCHAR", "Estimate run that wrote the row"),
    ),
)

INITIAL_RESIDENCE = Table(
    "derived",
    "initial_residence",
    "Residence status of each person at the start of observation (unit: persons).",
    (
        C("person_id", "BIGINT", "Person", "NOT NULL"),
        C("res_status_initial", "TINYINT", "1 resident, 0 non-resident, empty if unknown"),
        C("date_initial", "DATE", "Date the initial status holds on"),
        C("status_source", "VARCHAR", "register | first_crossing | unknown"),
        C("run_id", "VARCHAR", "Estimate run that wrote the row"),
    ),
    primary_key=("person_id",),
)

MIGRATION_EVENTS = Table(
    "derived",
    "migration_events",
    "Long-term migrations (unit: persons' moves; one row per qualifying crossing).",
    (
        C("person_id", "BIGINT", "Person who migrated", "NOT NULL"),
        C("record_id", "VARCHAR", "Crossing record id; empty for an imputed crossing"),
        C("event_date", "DATE", "Date of the crossing that is the migration", "NOT NULL"),
        C("kind", "VARCHAR", "immigration | emigration", "NOT NULL"),
        C("status", "VARCHAR", "final | provisional", "NOT NULL"),
        C("probability", "DOUBLE", "1 for final events; modelled probability for provisional"),
        C("counted", "BOOLEAN",
          "True when the published figures count the event: every final event, and a "
          "systematic selection of provisional ones by cumulative probability, so that "
          "published cells are whole numbers that add up to the rounded expected totals"),
        C("citizenship", "VARCHAR", "Citizenship at the time of the move, ISO alpha-3"),
        C("sex", "VARCHAR", "M | F"),
        C("age", "INTEGER", "Age in completed years on the event date"),
        C("country_of_birth", "VARCHAR", "Country of birth, ISO alpha-3"),
        C("previous_next_country", "VARCHAR",
          "Country of previous (immigration) or next (emigration) residence, ISO alpha-3"),
        C("reason", "VARCHAR", "Permit type held on arrival (work, study, family, "
          "humanitarian, asylum, other) or citizen / none"),
        C("rule", "VARCHAR", "Residence rule applied"),
        C("run_id", "VARCHAR", "Estimate run that wrote the row"),
    ),
)

RESIDENCE_SPELLS = Table(
    "derived",
    "residence_spells",
    "Spells of residence status per person (unit: persons' spells).",
    (
        C("person_id", "BIGINT", "Person", "NOT NULL"),
        C("spell_start", "DATE", "First day of the spell", "NOT NULL"),
        C("spell_end", "DATE", "Last day of the spell, empty if open at the end of the data"),
        C("res_status", "TINYINT", "1 resident, 0 non-resident"),
        C("status_source", "VARCHAR", "register | crossings | first_crossing | provisional"),
        C("rule", "VARCHAR", "Residence rule applied"),
        C("run_id", "VARCHAR", "Estimate run that wrote the row"),
    ),
)

RESIDENT_STOCK = Table(
    "derived",
    "resident_stock",
    "Persons resident on each reference date (unit: persons), with their attributes on "
    "that date.",
    (
        C("ref_date", "DATE", "Reference date (1 January)", "NOT NULL"),
        C("person_id", "BIGINT", "Resident person", "NOT NULL"),
        C("citizenship", "VARCHAR", "Citizenship on the reference date, ISO alpha-3"),
        C("country_of_birth", "VARCHAR", "Country of birth, ISO alpha-3"),
        C("sex", "VARCHAR", "M | F"),
        C("age", "INTEGER", "Age in completed years on the reference date"),
        C("status_source", "VARCHAR",
          "Where the status on the date comes from: register (never crossed), crossings "
          "(settled by the rule), provisional (rule not yet settled), or the initial "
          "status's source (register | first_crossing) before the first crossing"),
        C("rule", "VARCHAR", "Residence rule applied"),
        C("run_id", "VARCHAR", "Estimate run that wrote the row"),
    ),
)

TABLES = (CROSSING_STATUS, INITIAL_RESIDENCE, MIGRATION_EVENTS, RESIDENCE_SPELLS, RESIDENT_STOCK)
