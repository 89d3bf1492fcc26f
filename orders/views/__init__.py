"""Order pages by audience: `retailer` (its shoppers' orders) and `supplier` (orders to ship)."""
