"""Learning a scenario from the desk's own history (`simsupport fit`, `simsupport backtest`).

history   -> reading and checking ticket logs, interval reports (CSV/Parquet)
estimate  -> an estimate with its 95% interval and the observations behind it
arrivals  -> rates, daily/weekly profiles, over-dispersion and market elasticity
service   -> handle-time distributions (AIC) and per-channel multipliers
patience  -> patience from answered and abandoned waits, as right-censored data
shares    -> category/language mix, deflection, escalation and retry probabilities
scenario  -> the fitted scenario as YAML, every value with its interval as a comment
backtest  -> the fitted model against what happened
"""
