"""fakeaws: a stateful local AWS endpoint for irhost's end-to-end tests and demo.

Start it with `/usr/bin/python3 tests/fakeaws/server.py --port 0 --port-file F --world W`
(or `fakeaws.client.start()` from a test). See README.md.
"""
