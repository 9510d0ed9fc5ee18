"""The HTTP service: `uvicorn colorizer.serving.api:app` (or `python -m colorizer.serving`).

    config.py  ServeConfig: every setting of the service, from flags or the environment
    api.py     the FastAPI app put together: its parts on app.state, the door, the handlers, the router
    routes.py  the routes (an APIRouter) and their dependencies: the parts, who is asking
    errors.py  the JSON error body, the statuses each route declares, exceptions -> statuses (handlers)
    door.py    before the body: the API key (401), the declared size (413); the body read bounded (413, 408)
    faults.py  a full disk said as 507 and on /health until it is writable again
    model.py   the colorizer (or paired weights), loaded once
    gate.py    back-pressure: at most N photos colorizing and M waiting, 503 beyond
    store.py   results that last: a SQLite index (WAL) and PNG files, limits per user and in total
    keys.py    API keys: made and revoked on the command line, only their hashes stored
"""
