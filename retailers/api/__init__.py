"""Retailer API routers, one module per resource: store imports (`imports`), inventory sync
status (`sync`) and the public, priced catalog (`catalog`); `auth` says who may call them."""
