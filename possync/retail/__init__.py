"""The retail domain: what a store sells, and the rules of selling it.

It uses the sync engine (to declare what replicates where) but knows nothing of
HTTP, web pages or command lines.
"""
