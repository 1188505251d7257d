"""The only package that speaks SQL. Importing it installs how values are sent (adapt.py)."""

from geomon.store import adapt

adapt.register()
