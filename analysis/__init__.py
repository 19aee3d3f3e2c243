"""Turns results/ into figures, tables and the report (run as ``python -m analysis``)."""
