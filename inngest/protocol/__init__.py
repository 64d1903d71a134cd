"""The SDK wire format, pure: signing, durations, register payloads, events, call requests, answers.

Callers import the submodules (``from inngest.protocol import outcome``); this package imports no
I/O library, so every rule of the wire contract is testable without sockets.
"""
