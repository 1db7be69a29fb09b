//! `unguarded-destructive-fixture` through the engine, on small repositories: the guards a test
//! inherits from other files (the `conftest.py` chain, `rails_helper.rb` and `spec/support`, a
//! Go `TestMain`, Jest/Vitest setup files, a Java base class), framework guarantees, guards that
//! are turned off, SQL reset scripts, partial (pre-commit) runs and the rule's options. The
//! per-language details are unit-tested in `src/lang/`.

use std::path::Path;

use premortem::engine::{self, Options};
use premortem::finding::Finding;

const RULE: &str = "unguarded-destructive-fixture";

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// Runs a check over a temporary repository holding `files`; `only` lists the paths given on
/// the command line (empty: the whole repository).
fn run(files: &[(&str, &str)], only: &[&str]) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (rel, content) in files {
        write(dir.path(), rel, content);
    }
    let paths = if only.is_empty() {
        vec![dir.path().to_path_buf()]
    } else {
        only.iter().map(|p| dir.path().join(p)).collect()
    };
    engine::run(&Options {
        paths,
        ..Options::default()
    })
    .unwrap()
    .findings
}

/// (path, line) of every finding of the rule; no file may fail to parse.
fn hits(findings: &[Finding]) -> Vec<(String, usize)> {
    let errors: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.rule == "parse-error")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    findings
        .iter()
        .filter(|f| f.rule == RULE)
        .map(|f| (f.location.path.clone(), f.location.line))
        .collect()
}

struct Case<'a> {
    name: &'a str,
    files: &'a [(&'a str, &'a str)],
    /// Paths given on the command line; empty for the whole repository.
    only: &'a [&'a str],
    want: &'a [(&'a str, usize)],
}

fn check_cases(cases: &[Case]) {
    for c in cases {
        let got = hits(&run(c.files, c.only));
        let want: Vec<(String, usize)> = c.want.iter().map(|(p, l)| (p.to_string(), *l)).collect();
        assert_eq!(got, want, "{}", c.name);
    }
}

// ---- Python ------------------------------------------------------------------------------

const PY_RESET: &str = r#"import os

import psycopg
import pytest


@pytest.fixture
def reset_db():
    conn = psycopg.connect(os.environ["POSTGRES_DSN"])
    conn.execute("TRUNCATE TABLE categories, cms_blocks CASCADE")
    yield conn
"#;

const PY_TEST_RESET: &str = r#"import os

import psycopg
import pytest


@pytest.fixture
def clean_orders():
    conn = psycopg.connect(os.environ["POSTGRES_DSN"])
    conn.execute("TRUNCATE TABLE orders CASCADE")
    yield conn


def test_orders(clean_orders):
    assert clean_orders
"#;

const PY_AUTOUSE_GUARD: &str = r#"import os
from urllib.parse import urlparse

import pytest


@pytest.fixture(autouse=True, scope="session")
def require_staging_db():
    host = urlparse(os.environ["POSTGRES_DSN"]).hostname or ""
    assert "-staging" in host, f"refusing to reset {host}"
"#;

const PY_NAMED_GUARD: &str = r#"import os

import pytest


@pytest.fixture(scope="session")
def require_staging_db():
    assert "staging" in os.environ["POSTGRES_DSN"], "not a staging database"
"#;

#[test]
fn python_conftest_chain() {
    check_cases(&[
        Case {
            name: "unguarded fixture in a conftest",
            files: &[("tests/conftest.py", PY_RESET)],
            only: &[],
            want: &[("tests/conftest.py", 10)],
        },
        Case {
            name: "an autouse guard in an ancestor conftest guards every test below",
            files: &[
                ("tests/conftest.py", PY_AUTOUSE_GUARD),
                ("tests/integration/orders/test_orders.py", PY_TEST_RESET),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "a module-level guard in the root conftest",
            files: &[
                (
                    "conftest.py",
                    "import os\nassert 'localhost' in os.environ['DATABASE_URL']\n",
                ),
                ("tests/test_orders.py", PY_TEST_RESET),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "a guard fixture from the parent conftest, requested by the reset fixture",
            files: &[
                ("tests/conftest.py", PY_NAMED_GUARD),
                (
                    "tests/integration/conftest.py",
                    "import pytest\n\n@pytest.fixture\ndef reset_db(require_staging_db, db_conn):\n    db_conn.execute('TRUNCATE TABLE orders')\n",
                ),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "a guard fixture nobody requests guards nothing",
            files: &[
                ("tests/conftest.py", PY_NAMED_GUARD),
                ("tests/test_orders.py", PY_TEST_RESET),
            ],
            only: &[],
            want: &[("tests/test_orders.py", 10)],
        },
        Case {
            name: "a conftest in a sibling directory is not in the chain",
            files: &[
                ("other/conftest.py", PY_AUTOUSE_GUARD),
                ("tests/test_orders.py", PY_TEST_RESET),
            ],
            only: &[],
            want: &[("tests/test_orders.py", 10)],
        },
        Case {
            name: "a conftest inherits from its ancestors too, and reports its own findings",
            files: &[
                ("conftest.py", PY_AUTOUSE_GUARD),
                ("tests/conftest.py", PY_RESET),
                ("api/conftest.py", PY_RESET),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "Django's test runner targets its own test database",
            files: &[(
                "shop/tests/test_orders.py",
                "from django.test import TestCase\n\nfrom shop.models import Order\n\n\nclass OrdersTest(TestCase):\n    def setUp(self):\n        Order.objects.all().delete()\n",
            )],
            only: &[],
            want: &[],
        },
        Case {
            name: "a guard defeated by setting the variable it checks",
            files: &[(
                "tests/conftest.py",
                "import os\n\nimport pytest\n\nos.environ[\"APP_ENV\"] = \"test\"\n\n\n@pytest.fixture\ndef reset_db(db_conn):\n    assert os.environ[\"APP_ENV\"] == \"test\"\n    db_conn.execute(\"TRUNCATE TABLE orders\")\n",
            )],
            only: &[],
            want: &[("tests/conftest.py", 11)],
        },
        Case {
            name: "pre-commit passes only the test file: the conftest guard on disk still counts",
            files: &[
                ("tests/conftest.py", PY_AUTOUSE_GUARD),
                ("tests/integration/test_orders.py", PY_TEST_RESET),
            ],
            only: &["tests/integration/test_orders.py"],
            want: &[],
        },
        Case {
            name: "a partial run reports only the files it was given",
            files: &[
                ("tests/conftest.py", PY_RESET),
                ("tests/integration/test_orders.py", PY_TEST_RESET),
            ],
            only: &["tests/integration/test_orders.py"],
            want: &[("tests/integration/test_orders.py", 10)],
        },
        Case {
            name: "a partial run of a directory reads the conftest above it",
            files: &[
                ("tests/conftest.py", PY_AUTOUSE_GUARD),
                ("tests/integration/test_orders.py", PY_TEST_RESET),
            ],
            only: &["tests/integration"],
            want: &[],
        },
    ]);
}

#[test]
fn the_incident_fixture_reads_like_the_incident() {
    let findings = run(&[("tests/conftest.py", PY_RESET)], &[]);
    let f = findings.iter().find(|f| f.rule == RULE).unwrap();
    assert_eq!(
        f.message,
        "`reset_db` runs TRUNCATE on categories and cms_blocks with no environment guard before it"
    );
    let help = f.help.as_deref().unwrap();
    assert!(
        help.contains("assert") && help.contains("reset_db"),
        "{help}"
    );
}

// ---- JavaScript and TypeScript ------------------------------------------------------------

const JS_TEST: &str = r#"const { Pool } = require("pg");

const pool = new Pool({ connectionString: process.env.DATABASE_URL });

beforeEach(async () => {
  await pool.query("TRUNCATE orders, payments CASCADE");
});
"#;

const JS_MODULE_GUARD: &str = r#"if (process.env.NODE_ENV !== "test") {
  throw new Error(`refusing to run the tests with NODE_ENV=${process.env.NODE_ENV}`);
}
"#;

const TS_TEST: &str = r#"import { PrismaClient } from "@prisma/client";

const prisma = new PrismaClient();

beforeAll(async () => {
  await prisma.order.deleteMany();
});
"#;

const TS_HOOK_GUARD: &str = r#"beforeAll(() => {
  const { hostname } = new URL(process.env.DATABASE_URL ?? "");
  if (hostname !== "localhost") throw new Error(`refusing to reset ${hostname}`);
});
"#;

#[test]
fn javascript_setup_files() {
    check_cases(&[
        Case {
            name: "unguarded hook",
            files: &[("test/orders.test.js", JS_TEST)],
            only: &[],
            want: &[("test/orders.test.js", 6)],
        },
        Case {
            name: "a Jest setup file with a module-level guard",
            files: &[
                (
                    "jest.config.js",
                    "module.exports = { setupFiles: ['<rootDir>/jest.setup.js'] };\n",
                ),
                ("jest.setup.js", JS_MODULE_GUARD),
                ("test/orders.test.js", JS_TEST),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "the jest key of package.json, with a setup file of any name",
            files: &[
                (
                    "package.json",
                    r#"{"name": "shop", "jest": {"setupFiles": ["./config/env-check.js"]}}"#,
                ),
                ("config/env-check.js", JS_MODULE_GUARD),
                ("test/orders.test.js", JS_TEST),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "a global setup whose exported function is a guard",
            files: &[
                (
                    "jest.config.js",
                    "module.exports = { globalSetup: './test/global-setup.js' };\n",
                ),
                (
                    "test/global-setup.js",
                    "async function requireTestDatabase() {\n  if (!process.env.DATABASE_URL.includes('localhost')) throw new Error('not local');\n}\nmodule.exports = requireTestDatabase;\n",
                ),
                ("test/orders.test.js", JS_TEST),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "a setup file without a guard guards nothing",
            files: &[
                (
                    "jest.config.js",
                    "module.exports = { setupFiles: ['./jest.setup.js'] };\n",
                ),
                ("jest.setup.js", "require('dotenv').config();\n"),
                ("test/orders.test.js", JS_TEST),
            ],
            only: &[],
            want: &[("test/orders.test.js", 6)],
        },
        Case {
            name: "another package's config does not cover this one",
            files: &[
                (
                    "packages/web/jest.config.js",
                    "module.exports = { setupFiles: ['./jest.setup.js'] };\n",
                ),
                ("packages/web/jest.setup.js", JS_MODULE_GUARD),
                ("packages/api/test/orders.test.js", JS_TEST),
            ],
            only: &[],
            want: &[("packages/api/test/orders.test.js", 6)],
        },
        Case {
            name: "a setup file outside the test directories is checked itself",
            files: &[
                (
                    "jest.config.js",
                    "module.exports = { setupFilesAfterEnv: ['./config/db-reset.js'] };\n",
                ),
                (
                    "config/db-reset.js",
                    "const { pool } = require('../src/db');\nbeforeEach(async () => {\n  await pool.query('TRUNCATE orders');\n});\n",
                ),
            ],
            only: &[],
            want: &[("config/db-reset.js", 3)],
        },
        Case {
            name: "a guard in an earlier setup file covers a later one",
            files: &[
                (
                    "jest.config.js",
                    "module.exports = {\n  setupFiles: ['./config/env-check.js'],\n  setupFilesAfterEnv: ['./config/db-reset.js'],\n};\n",
                ),
                ("config/env-check.js", JS_MODULE_GUARD),
                (
                    "config/db-reset.js",
                    "const { pool } = require('../src/db');\nbeforeEach(async () => {\n  await pool.query('TRUNCATE orders');\n});\n",
                ),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "an in-memory database needs no guard",
            files: &[(
                "test/models.test.js",
                "const sequelize = new Sequelize('sqlite::memory:', { logging: false });\nbeforeEach(async () => {\n  await sequelize.sync({ force: true });\n});\n",
            )],
            only: &[],
            want: &[],
        },
        Case {
            name: "a guard defeated by setting the variable it checks",
            files: &[(
                "test/orders.test.js",
                "process.env.NODE_ENV = 'test';\nconst { pool } = require('../src/db');\nbeforeEach(async () => {\n  if (process.env.NODE_ENV !== 'test') throw new Error('not test');\n  await pool.query('TRUNCATE orders');\n});\n",
            )],
            only: &[],
            want: &[("test/orders.test.js", 5)],
        },
        Case {
            name: "pre-commit passes only the test file: the setup guard on disk still counts",
            files: &[
                (
                    "jest.config.js",
                    "module.exports = { setupFiles: ['<rootDir>/jest.setup.js'] };\n",
                ),
                ("jest.setup.js", JS_MODULE_GUARD),
                ("test/orders.test.js", JS_TEST),
            ],
            only: &["test/orders.test.js"],
            want: &[],
        },
    ]);
}

#[test]
fn typescript_setup_files() {
    check_cases(&[
        Case {
            name: "unguarded Prisma deleteMany",
            files: &[("src/__tests__/orders.spec.ts", TS_TEST)],
            only: &[],
            want: &[("src/__tests__/orders.spec.ts", 6)],
        },
        Case {
            name: "a Vitest setup file whose top-level beforeAll is a guard",
            files: &[
                (
                    "web/vitest.config.ts",
                    "import { defineConfig } from 'vitest/config';\nexport default defineConfig({\n  test: { setupFiles: ['./vitest.setup.ts'] },\n});\n",
                ),
                ("web/vitest.setup.ts", TS_HOOK_GUARD),
                ("web/src/__tests__/orders.spec.ts", TS_TEST),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "a setup beforeAll with a guard that only logs",
            files: &[
                (
                    "web/vitest.config.ts",
                    "export default { test: { setupFiles: './vitest.setup.ts' } };\n",
                ),
                (
                    "web/vitest.setup.ts",
                    "beforeAll(() => {\n  if (!process.env.DATABASE_URL?.includes('localhost')) console.warn('not local');\n});\n",
                ),
                ("web/src/__tests__/orders.spec.ts", TS_TEST),
            ],
            only: &[],
            want: &[("web/src/__tests__/orders.spec.ts", 6)],
        },
        Case {
            name: "a Testcontainers database is made for the test",
            files: &[(
                "src/__tests__/orders.spec.ts",
                "import { PostgreSqlContainer } from '@testcontainers/postgresql';\nbeforeEach(async () => {\n  await pool.query('TRUNCATE users');\n});\n",
            )],
            only: &[],
            want: &[],
        },
    ]);
}

// ---- Ruby ---------------------------------------------------------------------------------

const RB_SUPPORT_RESET: &str = r#"RSpec.configure do |config|
  config.before(:suite) do
    ActiveRecord::Base.connection.execute("TRUNCATE categories, cms_blocks CASCADE")
  end
end
"#;

const RB_RAILS_HELPER: &str = r#"require "spec_helper"
ENV["RAILS_ENV"] ||= "test"
require_relative "../config/environment"
abort("The Rails environment is running in production mode!") unless Rails.env.test?
require "rspec/rails"
"#;

const RB_SPEC: &str = r#"require "rails_helper"

RSpec.describe Order do
  before { ActiveRecord::Base.connection.execute("TRUNCATE orders") }

  it "works" do
    expect(Order.count).to eq(0)
  end
end
"#;

#[test]
fn ruby_spec_helpers() {
    check_cases(&[
        Case {
            name: "unguarded support file",
            files: &[("spec/support/reset.rb", RB_SUPPORT_RESET)],
            only: &[],
            want: &[("spec/support/reset.rb", 3)],
        },
        Case {
            name: "rails_helper aborts outside the test environment before support files load",
            files: &[
                ("spec/rails_helper.rb", RB_RAILS_HELPER),
                ("spec/support/reset.rb", RB_SUPPORT_RESET),
                ("spec/models/order_spec.rb", RB_SPEC),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "a guard hook in spec/support guards the specs",
            files: &[
                (
                    "spec/support/db_guard.rb",
                    "RSpec.configure do |config|\n  config.before(:suite) do\n    abort('not a test database') unless ENV.fetch('DATABASE_URL').include?('localhost')\n  end\nend\n",
                ),
                ("spec/models/order_spec.rb", RB_SPEC),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "another spec directory's helper does not cover this one",
            files: &[
                ("engines/billing/spec/rails_helper.rb", RB_RAILS_HELPER),
                ("spec/models/order_spec.rb", RB_SPEC),
            ],
            only: &[],
            want: &[("spec/models/order_spec.rb", 4)],
        },
        Case {
            name: "DatabaseCleaner refuses remote and production databases by itself",
            files: &[(
                "spec/support/database_cleaner.rb",
                "RSpec.configure do |config|\n  config.before(:suite) do\n    DatabaseCleaner.clean_with(:truncation)\n  end\nend\n",
            )],
            only: &[],
            want: &[],
        },
        Case {
            name: "DatabaseCleaner's refusal turned off",
            files: &[(
                "spec/support/database_cleaner.rb",
                "DatabaseCleaner.allow_remote_database_url = true\nRSpec.configure do |config|\n  config.before(:suite) do\n    DatabaseCleaner.clean_with(:truncation)\n  end\nend\n",
            )],
            only: &[],
            want: &[("spec/support/database_cleaner.rb", 4)],
        },
        Case {
            name: "rails_helper keeps the test schema: Rails runs the suite on the test database",
            files: &[
                (
                    "spec/rails_helper.rb",
                    "require 'rspec/rails'\nActiveRecord::Migration.maintain_test_schema!\n",
                ),
                (
                    "spec/support/reset.rb",
                    "RSpec.configure do |config|\n  config.before(:each) { User.delete_all }\nend\n",
                ),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "a commented-out maintain_test_schema! guarantees nothing",
            files: &[
                (
                    "spec/rails_helper.rb",
                    "require 'rspec/rails'\n# ActiveRecord::Migration.maintain_test_schema!\n",
                ),
                (
                    "spec/support/reset.rb",
                    "RSpec.configure do |config|\n  config.before(:each) { User.delete_all }\nend\n",
                ),
            ],
            only: &[],
            want: &[("spec/support/reset.rb", 2)],
        },
        Case {
            name: "pre-commit passes only the spec: rails_helper on disk still counts",
            files: &[
                ("spec/rails_helper.rb", RB_RAILS_HELPER),
                ("spec/models/order_spec.rb", RB_SPEC),
            ],
            only: &["spec/models/order_spec.rb"],
            want: &[],
        },
        Case {
            name: "minitest's test_helper",
            files: &[
                (
                    "test/test_helper.rb",
                    "ENV['RAILS_ENV'] ||= 'test'\nabort('not test') unless Rails.env.test?\n",
                ),
                (
                    "test/models/order_test.rb",
                    "class OrderTest < ActiveSupport::TestCase\n  setup do\n    ActiveRecord::Base.connection.execute('TRUNCATE orders')\n  end\nend\n",
                ),
            ],
            only: &[],
            want: &[],
        },
    ]);
}

// ---- Go -----------------------------------------------------------------------------------

const GO_HELPER: &str = r#"package store

import (
	"database/sql"
	"os"
	"testing"
)

func resetDB(t *testing.T) *sql.DB {
	db, _ := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	if _, err := db.Exec("TRUNCATE orders, payments CASCADE"); err != nil {
		t.Fatal(err)
	}
	return db
}
"#;

const GO_MAIN_GUARD: &str = r#"package store

import (
	"log"
	"os"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	if !strings.Contains(os.Getenv("DATABASE_URL"), "localhost") {
		log.Fatal("refusing to run against a database that is not local")
	}
	os.Exit(m.Run())
}
"#;

#[test]
fn go_test_main() {
    check_cases(&[
        Case {
            name: "unguarded helper",
            files: &[("store/store_test.go", GO_HELPER)],
            only: &[],
            want: &[("store/store_test.go", 11)],
        },
        Case {
            name: "TestMain in another file of the package guards it",
            files: &[
                ("store/main_test.go", GO_MAIN_GUARD),
                ("store/store_test.go", GO_HELPER),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "TestMain of another package does not",
            files: &[
                ("billing/main_test.go", GO_MAIN_GUARD),
                ("store/store_test.go", GO_HELPER),
            ],
            only: &[],
            want: &[("store/store_test.go", 11)],
        },
        Case {
            name: "a TestMain that checks nothing",
            files: &[
                (
                    "store/main_test.go",
                    "package store\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestMain(m *testing.M) {\n\tos.Exit(m.Run())\n}\n",
                ),
                ("store/store_test.go", GO_HELPER),
            ],
            only: &[],
            want: &[("store/store_test.go", 11)],
        },
        Case {
            name: "a Testcontainers database is made for the test",
            files: &[(
                "store/store_test.go",
                "package store\n\nimport \"github.com/testcontainers/testcontainers-go/modules/postgres\"\n\nfunc TestA(t *testing.T) {\n\tpg, _ := postgres.Run(ctx, \"postgres:16\")\n\tdsn, _ := pg.ConnectionString(ctx)\n\tdb, _ := sql.Open(\"pgx\", dsn)\n\tdb.Exec(\"TRUNCATE orders\")\n}\n",
            )],
            only: &[],
            want: &[],
        },
        Case {
            name: "testfixtures with its test-database check turned off",
            files: &[(
                "store/fixtures_test.go",
                "package store\n\nvar fixtures = testfixtures.New(testfixtures.Database(db), testfixtures.DangerousSkipTestDatabaseCheck())\n\nfunc prepare(t *testing.T) {\n\tfixtures.Load()\n}\n",
            )],
            only: &[],
            want: &[("store/fixtures_test.go", 6)],
        },
        Case {
            name: "pre-commit passes only the helper: TestMain on disk still counts",
            files: &[
                ("store/main_test.go", GO_MAIN_GUARD),
                ("store/store_test.go", GO_HELPER),
            ],
            only: &["store/store_test.go"],
            want: &[],
        },
    ]);
}

// ---- Java ---------------------------------------------------------------------------------

const JAVA_BASE_GUARD: &str = r#"package com.shop;

import org.junit.jupiter.api.BeforeEach;

abstract class DatabaseTest {
    @BeforeEach
    void requireTestDatabase() {
        String url = System.getenv("JDBC_URL");
        if (!url.contains("localhost")) {
            throw new IllegalStateException("refusing to reset " + url);
        }
    }
}
"#;

const JAVA_SUBCLASS: &str = r#"package com.shop;

import org.junit.jupiter.api.BeforeEach;

class OrdersTest extends DatabaseTest {
    @BeforeEach
    void reset() {
        jdbc.execute("TRUNCATE TABLE orders CASCADE");
    }
}
"#;

#[test]
fn java_setup() {
    check_cases(&[
        Case {
            name: "unguarded setup method",
            files: &[("src/test/java/com/shop/OrdersTest.java", JAVA_SUBCLASS)],
            only: &[],
            want: &[("src/test/java/com/shop/OrdersTest.java", 8)],
        },
        Case {
            name: "the base class checks the target first",
            files: &[
                ("src/test/java/com/shop/DatabaseTest.java", JAVA_BASE_GUARD),
                ("src/test/java/com/shop/OrdersTest.java", JAVA_SUBCLASS),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "a base class in another package, found by its unique name",
            files: &[
                (
                    "src/test/java/com/shop/support/DatabaseTest.java",
                    JAVA_BASE_GUARD,
                ),
                ("src/test/java/com/shop/OrdersTest.java", JAVA_SUBCLASS),
            ],
            only: &[],
            want: &[],
        },
        Case {
            name: "a base class without a guard",
            files: &[
                (
                    "src/test/java/com/shop/DatabaseTest.java",
                    "package com.shop;\n\nabstract class DatabaseTest {\n    @BeforeEach\n    void setUp() {}\n}\n",
                ),
                ("src/test/java/com/shop/OrdersTest.java", JAVA_SUBCLASS),
            ],
            only: &[],
            want: &[("src/test/java/com/shop/OrdersTest.java", 8)],
        },
        Case {
            name: "a rolled-back @Transactional test",
            files: &[(
                "src/test/java/com/shop/OrdersTest.java",
                "@SpringBootTest\n@Transactional\nclass OrdersTest {\n    @BeforeEach\n    void reset() { jdbcTemplate.execute(\"DELETE FROM orders\"); }\n}\n",
            )],
            only: &[],
            want: &[],
        },
        Case {
            name: "Flyway's clean protection turned off",
            files: &[(
                "src/test/java/com/shop/MigrationTest.java",
                "class MigrationTest {\n    Flyway flyway = Flyway.configure().dataSource(url, user, pw).cleanDisabled(false).load();\n    @BeforeEach\n    void reset() { flyway.clean(); }\n}\n",
            )],
            only: &[],
            want: &[("src/test/java/com/shop/MigrationTest.java", 4)],
        },
    ]);
}

// ---- SQL scripts --------------------------------------------------------------------------

const SQL_RESET: &str =
    "DELETE FROM categories WHERE id > 0;\nTRUNCATE TABLE cms_blocks CASCADE;\n";

const SQL_GUARD: &str = "DO $$\nBEGIN\n  IF current_database() NOT LIKE '%test%' THEN\n    RAISE EXCEPTION 'refusing to reset %', current_database();\n  END IF;\nEND\n$$;\n";

#[test]
fn sql_reset_scripts() {
    let guarded = format!("{SQL_GUARD}{SQL_RESET}");
    check_cases(&[
        Case {
            name: "unguarded reset script",
            files: &[("tests/fixtures/reset.sql", SQL_RESET)],
            only: &[],
            want: &[
                ("tests/fixtures/reset.sql", 1),
                ("tests/fixtures/reset.sql", 2),
            ],
        },
        Case {
            name: "a reset script by name, outside test directories",
            files: &[("db/reset_all.sql", SQL_RESET)],
            only: &[],
            want: &[("db/reset_all.sql", 1), ("db/reset_all.sql", 2)],
        },
        Case {
            name: "guarded reset script",
            files: &[("tests/fixtures/reset.sql", &guarded)],
            only: &[],
            want: &[],
        },
        Case {
            name: "migrations and other scripts are not test scripts",
            files: &[
                ("db/migrations/004_drop_legacy.sql", SQL_RESET),
                ("tests/db/migrations/001.sql", SQL_RESET),
                ("db/maintenance.sql", SQL_RESET),
            ],
            only: &[],
            want: &[],
        },
    ]);
    let findings = run(&[("tests/reset.sql", SQL_RESET)], &[]);
    let f = findings.iter().find(|f| f.rule == RULE).unwrap();
    assert!(
        f.message.starts_with("`reset.sql` runs DELETE FROM"),
        "{}",
        f.message
    );
    assert!(f.help.as_deref().unwrap().contains("RAISE EXCEPTION"));
}

// ---- options and suppressions ------------------------------------------------------------

const PY_HELPER_GUARDED: &str = r#"import pytest

from shop.testing import assert_test_database


@pytest.fixture
def reset_db(db_conn):
    assert_test_database(db_conn)
    db_conn.execute("TRUNCATE TABLE orders")
"#;

#[test]
fn configured_guard_helpers_count() {
    let config = ".premortem.yaml";
    let with = "rules:\n  unguarded-destructive-fixture:\n    guards: [shop.testing.assert_test_database]\n";
    let file = ("tests/conftest.py", PY_HELPER_GUARDED);
    assert_eq!(
        hits(&run(&[file], &[])),
        [("tests/conftest.py".to_string(), 9)]
    );
    assert_eq!(hits(&run(&[file, (config, with)], &[])), []);
}

#[test]
fn test_paths_add_test_code() {
    let config = ".premortem.yaml";
    let with = "rules:\n  unguarded-destructive-fixture:\n    test_paths: [\"qa/**\"]\n";
    let files = [("qa/db_reset.py", PY_RESET), ("qa/wipe.sql", SQL_RESET)];
    assert_eq!(hits(&run(&files, &[])), []);
    let mut both = files.to_vec();
    both.push((config, with));
    assert_eq!(
        hits(&run(&both, &[])),
        [
            ("qa/db_reset.py".to_string(), 10),
            ("qa/wipe.sql".to_string(), 1),
            ("qa/wipe.sql".to_string(), 2)
        ]
    );
}

#[test]
fn inline_suppressions_apply_to_setup_files_found_through_a_config() {
    let files = [
        (
            "jest.config.js",
            "module.exports = { setupFilesAfterEnv: ['./config/db-reset.js'] };\n",
        ),
        (
            "config/db-reset.js",
            "const { pool } = require('../src/db');\nbeforeEach(async () => {\n  // premortem: ignore[unguarded-destructive-fixture] the CI database is created per run\n  await pool.query('TRUNCATE orders');\n});\n",
        ),
    ];
    assert_eq!(hits(&run(&files, &[])), []);
}

#[test]
fn the_rule_can_be_turned_off() {
    let files = [
        ("tests/conftest.py", PY_RESET),
        (
            ".premortem.yaml",
            "rules:\n  unguarded-destructive-fixture: off\n",
        ),
    ];
    assert_eq!(hits(&run(&files, &[])), []);
}

// ---- the bundled examples -----------------------------------------------------------------

/// `premortem check examples/<name>`: exit code and human output (time normalised).
fn check_example(example: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(example);
    let out = assert_cmd::Command::cargo_bin("premortem")
        .unwrap()
        .args(["check", "--no-color"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let re = regex::Regex::new(r"\(\d+\.\d+ s\)").unwrap();
    format!(
        "exit code: {:?}\n{}",
        out.status.code(),
        re.replace_all(&text, "(TIME s)")
    )
}

#[test]
fn nightly_suite_is_flagged_at_its_truncate() {
    let out = check_example("nightly-suite");
    assert!(out.starts_with("exit code: Some(1)"), "{out}");
    assert!(out.contains("tests/conftest.py:49:9"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn nightly_suite_guarded_passes() {
    let out = check_example("nightly-suite-guarded");
    assert!(out.starts_with("exit code: Some(0)"), "{out}");
    assert!(out.contains("no findings"), "{out}");
}

#[test]
fn a_file_that_cannot_be_analysed_says_so() {
    let findings = run(
        &[(
            "tests/test_reset.py",
            "import pytest\n\n@pytest.fixture\ndef reset_db(conn):\n    conn.execute(\"TRUNCATE orders\"\n    yield (\n",
        )],
        &[],
    );
    let errors: Vec<(&str, usize)> = findings
        .iter()
        .filter(|f| f.rule == "parse-error")
        .map(|f| (f.location.path.as_str(), f.location.line))
        .collect();
    assert_eq!(errors.len(), 1, "{findings:?}");
    assert_eq!(errors[0].0, "tests/test_reset.py");
    let f = findings.iter().find(|f| f.rule == "parse-error").unwrap();
    assert!(f.message.contains(RULE), "{}", f.message);
}
