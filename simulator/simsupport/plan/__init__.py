"""Planning a desk: scenario -> `DeskPlan`, the immutable description of one replication's desk
(pools, ticket classes and the pools that may serve them, routing tables, tiers, shift
calendars, arrival rates and the market path). No SimPy here: staffing, scheduling and fitting
read a plan without building an engine; `engine` turns a plan into events.
"""
