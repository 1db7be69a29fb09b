def test_every_category_has_a_cms_block(reset_db):
    rows = reset_db.execute(
        "SELECT c.id FROM categories c LEFT JOIN cms_blocks b ON b.category_id = c.id"
        " WHERE b.id IS NULL"
    ).fetchall()
    assert rows == []


def test_coupons_expire(reset_db):
    rows = reset_db.execute("SELECT code FROM coupons WHERE expires_at < now()").fetchall()
    assert all(code.startswith("EXPIRED-") for (code,) in rows)
