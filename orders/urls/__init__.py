"""Order pages' URLs by audience: `retailer` (namespace "orders") and `supplier` (namespace
"supplier_orders", under /supplier/orders/); dropship/urls.py includes both."""
