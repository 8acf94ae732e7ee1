"""Opper's own layer over the vendor wire formats: cost, tracing, guardrails and the models list.

    cost.py       prices and what an answered call costs (`X-Opper-Cost`, `cost`, `usage.cost`)
    guards.py     guardrails: the checks a call runs, on its input and on its answer
    detectors.py  the built-in checks (pii, secrets, toxicity)
    tracing.py    the trace store behind /v3/spans and /v3/traces
    spans.py      what a span is, and a compat call's span read from its journal record
    models.py     GET /v3/models in Opper's ModelsResponse shape
    routes.py     the /v3 routes under the server root
    layer.py      where the request pipeline calls into all of this, once per compat call

Nothing here knows a vendor's field names: the dialects say where `answer.cost` and the
guard reports go on their wire.
"""
