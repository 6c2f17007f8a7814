"""Staffing recommendations: the cheapest headcount per pool and shift that meets every SLA.

`variables` names the decisions (a pool's headcount, or each of its shifts'), their bounds,
hours and cost; `requirements` gives the starting point (Erlang A per hour on each pool's share of
the lagged offered load); `search` refines it by simulation with common random numbers
(marginal analysis: add what buys the most service level per cost until every target is met
with 95% confidence, then drop what is not needed); `recommend` puts them together, the library
call behind `simsupport staff`.
"""
