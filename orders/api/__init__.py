"""Order endpoints of the JSON API by audience: `retailer` (custom stores send orders, any retailer
reads their status) and `supplier` (list, accept and ship supplier orders)."""
