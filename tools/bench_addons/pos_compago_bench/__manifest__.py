{
    "name": "Compago POS terminals: benchmark helpers",
    "summary": "Bench-only: an empty JSON-RPC route and Compago call timings for make bench",
    "version": "19.0.1.0.0",
    "category": "Hidden",
    "website": "https://github.com/pos-compago/pos_compago",
    "author": "pos_compago contributors",
    "license": "LGPL-3",
    "depends": ["pos_compago"],
    "installable": True,
}
