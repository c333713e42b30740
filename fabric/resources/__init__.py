"""Pools and the allocation ledger."""

from fabric.resources.ledger import Allocations, Change, Ledger, Plan, plan_allocations

__all__ = ["Allocations", "Change", "Ledger", "Plan", "plan_allocations"]
