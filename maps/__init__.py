"""Folium map renderers."""
