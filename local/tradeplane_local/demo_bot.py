"""A short bot written for alpaca-py, as users already have them: it only reads the APCA_* variables.

eval "$(tradeplane local paper-account)" && python -m tradeplane_local.demo_bot
"""

from __future__ import annotations

import os
from typing import Any


def main() -> int:
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
    from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest

    # alpaca-py's methods return model | raw dict; a bot with the default raw_data=False gets models.
    client: Any = TradingClient(
        os.environ["APCA_API_KEY_ID"], os.environ["APCA_API_SECRET_KEY"], url_override=os.environ["APCA_API_BASE_URL"]
    )
    account = client.get_account()
    print(f"account {account.account_number}: cash {account.cash}, buying power {account.buying_power}")
    order = client.submit_order(
        LimitOrderRequest(symbol="AAPL", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=185)
    )
    print(f"submitted {order.side.value} {order.qty} {order.symbol} @ {order.limit_price}: {order.status.value}")
    print(f"buying power now {client.get_account().buying_power} (the order reserves qty x limit price)")
    open_orders = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))
    print(f"open orders: {[(o.symbol, o.qty, o.status.value) for o in open_orders]}")
    client.cancel_order_by_id(order.id)
    print(
        f"canceled: {client.get_order_by_id(order.id).status.value}; buying power {client.get_account().buying_power}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
