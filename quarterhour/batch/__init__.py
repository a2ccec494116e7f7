"""Batch runs: one circle per unit of a region, on Dask."""
