"""Regression checks for CI pipelines: store a scenario's outputs as a baseline, and later tell
whether a code or scenario change moved them beyond what replication noise allows.

`baseline` writes and reads baseline files (per-metric replication values plus metadata),
`compare` decides metric by metric (exact, or Welch's test with Holm's correction and optional
tolerances), `report` renders the verdicts as JSON and JUnit XML.
"""
