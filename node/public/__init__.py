"""The public disclosure page (失信被执行人公示): anyone may ask whether a subject, given by
exact name and exact ID number or credit code, is on any region's list.

``page.py`` serves it (aiohttp, HTTPS without a client certificate, off unless configured),
``answer.py`` builds the answer from the shared check (node/businesses/blacklist/check.py) with
the published fields only (法释〔2017〕7号 art. 6), IDs masked, ``render.py`` writes its HTML
and ``limiter.py`` holds the per-IP rate limit. docs/operations.md says how to run it.
"""
