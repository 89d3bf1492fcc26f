"""Retailer pages, one module per part of the dashboard; every page is for a signed-in retailer
except the public catalog (`catalog`), which shows prices to retailers only."""
