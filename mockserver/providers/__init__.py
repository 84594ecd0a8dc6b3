"""Vendor modules. Each module (or package) here exposes `PROVIDER`; `app.py` discovers them."""
