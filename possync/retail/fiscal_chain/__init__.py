"""The fiscal chain: every document a till issues, hash-linked to the one before.

Each document (a receipt, of kind sale or return, or a Z report: z_form.py)
carries ``chain_seq`` (1, 2, 3... per issuer) and ``chain_hash``, the
SHA-256 of the previous document's hash and the document's canonical form
(:func:`content`: its fields, its lines and payments in order, amounts as the
integers stored). The first document links to the issuer's genesis value. The
issuer takes its place in the chain in the transaction that writes the document
(:func:`link`), from its own head (``fiscal_chain_head``), which no purge touches.
Documents written before schema 0006, or by a till of an older release, carry no
hash: a till's chain starts with its first document after its upgrade.

The store checks each till's chain as documents arrive (:func:`note_received`,
called by the intake guard with the rows as received) and again, whenever asked,
over every document it holds (:func:`verify`; ``possync store verify-chain``).
What it finds is kept per till in ``fiscal_chain_check``: the anchor checking
starts from (the genesis value, or the newest document a purge removed), the head
as verified, and the first fault: a ``gap`` (a place in the chain with no
document), an ``altered`` document (it does not hash to its ``chain_hash`` from
the one before) or a ``fork`` (two documents in one place).
"""

from possync.retail.fiscal_chain.checks import (
    ChainStatus,
    Problem,
    Walk,
    note_received,
    status_by_terminal,
    statuses,
    verify,
    verify_all,
    walk,
)
from possync.retail.fiscal_chain.documents import Chained
from possync.retail.fiscal_chain.form import (
    FORM,
    HEAD_FIELDS,
    LINE_FIELDS,
    PAYMENT_FIELDS,
    SHORT,
    content,
    genesis,
    head_of,
    link,
    note_provisioned,
    previous_hash,
    seal,
    short,
)
from possync.retail.fiscal_chain.purged import head_documents, note_purged
from possync.retail.fiscal_chain.z_form import Z_FIELDS, z_content

__all__ = [
    "FORM",
    "HEAD_FIELDS",
    "LINE_FIELDS",
    "PAYMENT_FIELDS",
    "SHORT",
    "Z_FIELDS",
    "ChainStatus",
    "Chained",
    "Problem",
    "Walk",
    "content",
    "genesis",
    "head_documents",
    "head_of",
    "link",
    "note_provisioned",
    "note_purged",
    "note_received",
    "previous_hash",
    "seal",
    "short",
    "status_by_terminal",
    "statuses",
    "verify",
    "verify_all",
    "walk",
    "z_content",
]
