"""Tooling of the book itself: execution cache, chapter checks, pytest and Sphinx glue.

The science lives in :mod:`emergence`; this package only keeps the book honest.
"""
