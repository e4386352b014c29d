"""The `oliveyoung-py` plugin's modules: the Oliveyoung flow of the Rust plugin
(`plugins/oliveyoung`), ported to Python with the same tasks and records.

- `selectors`: every CSS selector, in one place (selectors drift).
- `numbers`: amounts, counts, ratings and rates in card text (pure).
- `parse`: page parsers over the host's `html` capability.
- `records`: product and brand records, the category join (pure).
- `site`: checked settings and the URL of every page.
- `tasks`: task keys, kinds, phases, payloads and state keys.
- `flow`: the crawl steps.
"""
