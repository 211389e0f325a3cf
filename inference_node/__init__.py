"""The inference node: an OpenAI-compatible HTTP server for DIO's checkpoints.

`realm-node --models-dir DIR` serves the `checkpoint-*` folders of DIR (and `base`):

- `POST /v1/chat/completions` (plain and SSE), `GET /v1/models`;
- `GET /models/info`, `POST /models/load`, `POST /models/unload`, `POST /models/upload`;
- `GET /health` (the only route without the API key).

Modules: `settings` (NodeSettings), `errors` (OpenAI error shape), `auth` (API key
middleware), `identity` (model id -> checkpoint folder, fingerprints), `loading`
(verified model loads), `pool` (LRU pool with in-flight accounting), `decoding`
(incremental UTF-8 and stop strings), `generation` (the sampling loop),
`streaming` (thread -> SSE bridge, cancellation), `upload` (tar uploads), `app`
(the FastAPI factory) and `cli` (`realm-node`). The wire contract beyond OpenAI's is
`contracts/node_api.py`.
"""
