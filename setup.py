"""Shim for ``scrapyd-deploy``, which builds eggs with ``python setup.py bdist_egg``.

All metadata is in pyproject.toml; without this file scrapyd-deploy writes its own setup.py
(with a made-up name and version) into the project folder.
"""

from setuptools import setup

setup()
