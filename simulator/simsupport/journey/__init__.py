"""The service journey: the path a ticket takes after it arrives.

A chatbot first line, escalation through tiers and specialist teams, chat concurrency and
blending, backlog follow-ups (more information needed, reopens), a live start state, and the
customer-experience measures (CSAT proxy, expected-wait announcements).

`desk.JourneyDesk` extends the core `Desk` and is used only when a scenario asks for any of
this (`Scenario.has_journey`), so the plain path keeps its speed. `plan` draws each customer's
journey when it arrives (common random numbers: staffing changes only the waits), `sink`
accumulates its facts and `experience` holds the CSAT proxy and the wait predictor.
"""
