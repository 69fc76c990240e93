"""The pure core: change set, repository paths, verdict, consolidation, decision, configuration,
model catalogue, retry policy, locations, time stamps and errors. No network library (checked by
lint-imports)."""
