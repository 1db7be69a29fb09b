"""Fixtures for the storefront nightly integration suite (03:00 UTC, storefront-staging)."""

import os

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
    db_conn.execute("DELETE FROM categories WHERE id > 0")
    for table in TABLES:
        db_conn.execute(f"TRUNCATE TABLE {table} CASCADE")
    load_fixture_data(db_conn)
    yield db_conn
