"""Synthetic datasets whose properties (such as task relatedness) the user controls."""
