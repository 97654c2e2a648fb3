"""The strategy service's HTTP surface: one FastAPI app factory every route function shares (Mangum)."""
