"""Accounts of the unit ledger: (owner, bucket), owners named ``kind:id``."""

from __future__ import annotations

from dataclasses import dataclass

from gpuledger.domain.enums import Bucket, OwnerKind


@dataclass(frozen=True, order=True)
class Account:
    """An account: (owner, bucket). SKU and lot are carried by the transfer.

    ``owner`` is ``kind:id`` (``org:tesla``, ``cluster:tesla-cortex``,
    ``vendor:nvidia``). Only ``world`` buckets may go negative.
    """

    owner: str
    bucket: Bucket

    def __str__(self) -> str:
        return f"{self.owner}/{self.bucket}"

    @property
    def owner_kind(self) -> OwnerKind:
        """The kind prefix of the owner."""
        return OwnerKind(self.owner.split(":", 1)[0])

    @property
    def owner_id(self) -> str:
        """The owner's id without its kind."""
        return self.owner.split(":", 1)[1]

    @property
    def may_go_negative(self) -> bool:
        """True only for a vendor's outside world."""
        return self.bucket is Bucket.WORLD

    @classmethod
    def parse(cls, text: str) -> Account:
        """Parse ``org:tesla/stock``; raise ValueError naming the text if malformed."""
        owner, sep, bucket = text.rpartition("/")
        if not sep or ":" not in owner:
            raise ValueError(f"account {text!r} is not of the form kind:id/bucket")
        OwnerKind(owner.split(":", 1)[0])
        return cls(owner, Bucket(bucket))


def org_account(org: str, bucket: Bucket) -> Account:
    """The account of an org."""
    return Account(f"{OwnerKind.ORG}:{org}", bucket)


def cluster_account(cluster: str) -> Account:
    """The deployed account of a cluster."""
    return Account(f"{OwnerKind.CLUSTER}:{cluster}", Bucket.DEPLOYED)


def vendor_account(vendor: str) -> Account:
    """A vendor's outside world, where shipped units come from."""
    return Account(f"{OwnerKind.VENDOR}:{vendor}", Bucket.WORLD)
