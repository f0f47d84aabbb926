"""Checks of the exercises of chapter 6."""
