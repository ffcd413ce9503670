"""`python -m infra.verify --stack <s>`: prove that a deployed stack works.

Reads the stack outputs, then checks every public URL's certificate, that auth is
enforced with the credentials from the outputs, that a tiny job runs end to end
(and is cleaned up again), and that metrics, logs and traces arrive — the last
through Grafana's data-source proxy, so nothing new has to be public.
One module per group of checks; `report` runs them with retries and prints them.
"""
