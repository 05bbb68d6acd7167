"""Reusable widgets: the virtual thread list, views column, message log, composer, contact panel, top bar."""
