"""Analyses on live data: load from the store, run the pure engine, save the results."""
