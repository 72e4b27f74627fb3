"""Figures for the union and the level above: /stats, /report and its charts, and the exports."""
