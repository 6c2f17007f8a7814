"""Learning a scenario from the desk's own history (`simsupport fit`, `simsupport backtest`).

history   -> reading and checking ticket logs and interval reports (CSV/Parquet)
estimate  -> an estimate with its 95% interval and the observations behind it
daymodel  -> Poisson counts with a gamma day factor (the simulator's over-dispersion), by ML
arrivals  -> rates, daily/weekly profiles and elasticity on the replay's own volatility
market    -> one elasticity or one per channel; the category mix under volatility
service   -> handle-time distributions (AIC) and per-channel multipliers
patience  -> patience from answered and abandoned waits, as right-censored data
shares    -> category/language mix, deflection, escalation and retry probabilities
learn     -> a read history to every estimate (FitResult)
scenario  -> the fitted scenario as YAML, every value with its interval as a comment
table     -> every estimate as one tidy table
kpis      -> ASA, service level and abandonment per day, from a log and from simulations
backtest  -> the fitted model against what happened
"""
