"""The local HTTP API that ``pllm-sync watch`` serves to plugin front ends (loopback only).

The API never touches the stores itself: it talks to a :class:`~.backend.Backend` (the daemon),
so every change it asks for runs on the daemon's single worker like any other pass.
"""

API_VERSION = "1"
