"""The sync protocol over HTTP: the routes a parent serves and the client a child
uses. Protocol documented in docs/protocol.md."""
