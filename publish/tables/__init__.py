"""The publication tables: UN questionnaire, Eurostat article 3, regional indicators."""
