"""Fixtures for the storefront nightly integration suite (03:00 UTC, storefront-staging)."""

import fnmatch
import os
from urllib.parse import urlparse

import psycopg
import pytest

from tests.fixture_data import load_fixture_data

# Every table the suite repopulates, alphabetically.
TABLES = [
    "categories",
    "cms_blocks",
    "coupons",
    "customers",
    "gift_cards",
    "inventory_levels",
    "invoices",
    "line_items",
    "loyalty_points",
    "newsletter_subscriptions",
    "order_events",
    "orders",
    "payment_methods",
    "payments",
    "price_lists",
    "product_images",
    "product_variants",
    "products",
    "refunds",
    "reviews",
    "shipments",
    "tax_rates",
    "wishlists",
]


@pytest.fixture(scope="session")
def db_conn():
    with psycopg.connect(os.environ["POSTGRES_DSN"], autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def reset_db(db_conn):
    """Teardown and rebuild: empty every table, then load the fixture data."""
    # AI-007-03: refuse to wipe anything but a staging database.
    db_host = urlparse(os.environ["POSTGRES_DSN"]).hostname or ""
    assert fnmatch.fnmatch(db_host, "*-staging*"), f"refusing to reset {db_host}: not staging"
    db_conn.execute("DELETE FROM categories WHERE id > 0")
    for table in TABLES:
        db_conn.execute(f"TRUNCATE TABLE {table} CASCADE")
    load_fixture_data(db_conn)
    yield db_conn
