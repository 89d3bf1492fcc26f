"""What the outside tells the orders app, through the webhook inbox, by sender: `store` (order and
privacy topics of the retailers' stores) and `supplier` (a WEBHOOK-channel supplier's own system
accepting, rejecting or shipping an order: its endpoint and its handlers). OrdersConfig.ready()
imports both so their handlers register."""
