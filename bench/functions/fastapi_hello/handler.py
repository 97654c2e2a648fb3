"""The init baseline for the strategy API's functions: a bare FastAPI app with one hello route, in Mangum."""

from typing import Any

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/v1/fastapi-hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}


handler: Any = Mangum(app, lifespan="off")
