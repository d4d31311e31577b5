"""The results pages, generated from one declarative spec.

`spec` holds the vocabulary (a page of tables, a table of rows, a row of
one results JSON's fields), `pages/` the spec itself (one module per page
under docs/results/, and the README's headline table), `render` the one
writer; `python -m experiments.results` runs it.
"""
