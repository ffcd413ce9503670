"""Streamlit UI over the Pipeline API."""
