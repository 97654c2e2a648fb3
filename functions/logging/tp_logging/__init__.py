"""The logging domain: aggregate function logs into `ops.logs`, query them, trace an order, retire old days."""
