#!/usr/bin/env python3
"""Generates a large, realistic monorepo tree for benchmarking premortem.

The tree has what a real company monorepo has: services in six languages with their sources and
test suites, Helm charts with per-environment values files, Kubernetes manifests, .env files, SQL
migrations in Flyway, golang-migrate and plain layouts, docker-compose files, a CODEOWNERS file,
docs, vendored third-party code and lock files. A small share of files hold connection strings
(most are references or local targets; a few are real findings), and a small share of test
files run destructive SQL in their setup.

Deterministic: the same seed and scale give byte-identical trees. Python 3 standard library only.

    scripts/gen_monorepo.py OUT_DIR [--seed 7] [--services 200]
"""

import argparse
import os
import random
import shutil
import sys

LANGS = ["python", "javascript", "typescript", "ruby", "go", "java"]
ENVS = ["dev", "staging", "production"]
WORDS = (
    "account order invoice payment user session cart item price stock ledger audit event "
    "report shipment carrier refund coupon tenant org team member role permission token "
    "webhook queue job batch export import search index catalog product review rating "
    "address region currency tax discount subscription plan usage metric alert notify"
).split()


# Words no language here accepts as a plain identifier.
RESERVED = {"import", "export"}


def ident(rng, parts=2, sep="_"):
    words = WORDS if parts > 1 else [w for w in WORDS if w not in RESERVED]
    return sep.join(rng.choice(words) for _ in range(parts))


def camel(rng, parts=2):
    return "".join(w.capitalize() for w in (rng.choice(WORDS) for _ in range(parts)))


# Block pools per language: a file is a header, blocks sampled from its pool and a footer, so every
# generated source file parses (a parser's error recovery is far slower than a clean parse, and real
# repositories hold code that compiles), and generating 270 MB stays fast.
def python_pool(rng):
    blocks = []
    for _ in range(1500):
        a, b, c = ident(rng), ident(rng), ident(rng, 1)
        blocks += [
            f"def {a}(self, {b}, {c}=None):\n"
            f"    \"\"\"Return the {c} for a {b}.\"\"\"\n"
            f"    if {c} is None:\n"
            f"        {c} = self.{b}.get({c!r})\n"
            f"    result = [x for x in {b} if x.{a}]\n"
            f"    logger.info(\"{a}: %s\", len(result))\n"
            f"    return {camel(rng)}({b}={b}, {c}={c})\n",
            f"class {camel(rng)}({camel(rng)}):\n    {a}: int = {rng.randint(0, 5000)}\n",
            f"from app.{c} import {camel(rng)}, {a}\n",
            f"# {rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(WORDS)}: keep in sync with the API\n",
        ]
    blocks.append('DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://localhost:5432/dev")\n')
    return blocks


def python_test_pool(rng):
    blocks = []
    for _ in range(800):
        a, b, c = ident(rng), ident(rng, 1), ident(rng, 1)
        blocks += [
            f"def test_{a}(client, {b}_factory):\n"
            f"    {b} = {b}_factory(name={ident(rng)!r})\n"
            f"    resp = client.get(f\"/v1/{b}s/{{{b}.id}}\")\n"
            f"    assert resp.status_code == 200\n"
            f"    assert resp.json()[\"{c}\"] == {b}.{c}\n",
            f"@pytest.mark.parametrize(\"{c}\", [{rng.randint(0, 9)}, {rng.randint(10, 99)}])\n"
            f"def test_{a}_{c}({c}):\n    assert {camel(rng)}({c}={c}).{a}() is not None\n",
            f"from app.{c} import {camel(rng)}\n",
        ]
    return blocks


def js_pool(rng, ts=False):
    blocks = []
    for _ in range(1500):
        a, b, c = camel(rng), ident(rng, 1), ident(rng, 1)
        typ = ": string" if ts else ""
        blocks += [
            f"export async function {b}{a}({c}{typ}) {{\n"
            f"  const {b} = await api.get(`/v1/{c}/${{{c}}}`);\n"
            f"  if (!{b}.ok) throw new Error('{b} {c} failed');\n"
            f"  return {b}.data.map((x) => x.{c});\n"
            "}\n",
            f"import {{ {a} }} from './{c}';\n",
            f"const {b}{a}{rng.randint(0, 99999)} = {{ {c}: {rng.randint(0, 999)}, name: '{ident(rng)}' }};\n",
            f"// {rng.choice(WORDS)} {rng.choice(WORDS)} handled upstream\n",
        ]
        if ts:
            blocks.append(f"export interface {a} {{ {b}: number; {c}?: string }}\n")
    blocks.append("const url = process.env.DATABASE_URL || 'postgres://localhost/dev';\n")
    return blocks


def js_test_pool(rng):
    blocks = []
    for _ in range(800):
        a, b, c = camel(rng), ident(rng, 1), ident(rng, 1)
        blocks += [
            f"describe('{b} {c}', () => {{\n"
            f"  it('returns the {c} of a {b}', async () => {{\n"
            f"    const res = await request(app).get('/v1/{b}s/{rng.randint(1, 99)}');\n"
            f"    expect(res.status).toBe(200);\n"
            f"    expect(res.body.{c}).toEqual({rng.randint(0, 999)});\n"
            "  });\n"
            "});\n",
            f"import {{ {a} }} from '../src/{c}';\n",
        ]
    return blocks


def ruby_pool(rng):
    blocks = []
    for _ in range(1500):
        a, b, c = ident(rng), ident(rng, 1), camel(rng)
        blocks += [
            f"class {c} < ApplicationRecord\n"
            f"  has_many :{b}s, dependent: :destroy\n"
            f"  validates :{a}, presence: true\n\n"
            f"  def {a}({b})\n"
            f"    @{b} ||= {c}.where({b}: {b}).order(created_at: :desc).first\n"
            f"    raise {c}Error, \"missing {b}\" unless @{b}\n"
            "  end\n"
            "end\n",
        ]
    return blocks


def ruby_test_pool(rng):
    blocks = []
    for _ in range(800):
        a, b, c = ident(rng), ident(rng, 1), camel(rng)
        blocks += [
            f"RSpec.describe {c} do\n"
            f"  let(:{b}) {{ create(:{b}, {a}: \"{ident(rng)}\") }}\n\n"
            f"  it \"finds the {b} by {a}\" do\n"
            f"    expect({c}.find_by({a}: {b}.{a})).to eq({b})\n"
            "  end\n"
            "end\n",
        ]
    return blocks


def go_pool(rng):
    blocks = []
    for _ in range(1500):
        a, b, c = camel(rng), ident(rng, 1), camel(rng)
        blocks += [
            f"func (s *{c}) {a}(ctx context.Context, {b} string) (*{c}, error) {{\n"
            f"\trow := s.db.QueryRowContext(ctx, \"SELECT id FROM {b}s WHERE id = $1\", {b})\n"
            f"\tif err := row.Scan(&s.{a}); err != nil {{\n"
            f"\t\treturn nil, fmt.Errorf(\"{b}: %w\", err)\n"
            "\t}\n"
            "\treturn s, nil\n"
            "}\n",
            f"type {c} struct {{ {a} int64 `json:\"{b}\"` }}\n",
        ]
    return blocks


def go_test_pool(rng):
    blocks = []
    for _ in range(800):
        a, b = camel(rng), ident(rng, 1)
        blocks += [
            f"func Test{a}(t *testing.T) {{\n"
            f"\tgot, err := New{a}().Get(context.Background(), \"{b}\")\n"
            "\tif err != nil {\n"
            "\t\tt.Fatal(err)\n"
            "\t}\n"
            f"\tif got.ID != {rng.randint(1, 999)} {{\n"
            f"\t\tt.Errorf(\"{b}: got %d\", got.ID)\n"
            "\t}\n"
            "}\n",
        ]
    return blocks


def java_pool(rng):
    blocks = []
    for _ in range(1500):
        a, b, c = camel(rng), ident(rng, 1), camel(rng)
        blocks += [
            f"    public {c} {b}{a}(long {b}Id) {{\n"
            f"        return repository.findById({b}Id).orElseThrow(() -> new NotFound(\"{b}\"));\n"
            "    }\n",
            f"    private final {c}Repository {b}Repository{rng.randint(0, 99999)};\n",
            f"    @Override public String toString() {{ return \"{c}\"; }}\n",
        ]
    return blocks


def java_test_pool(rng):
    blocks = []
    for _ in range(800):
        a, b, c = camel(rng), ident(rng, 1), camel(rng)
        blocks += [
            "    @Test\n"
            f"    void {b}{a}() {{\n"
            f"        var {b} = service.find{c}({rng.randint(1, 999)}L);\n"
            f"        assertEquals(\"{b}\", {b}.getName());\n"
            "    }\n",
        ]
    return blocks


def c_pool(rng):
    blocks = []
    for _ in range(1500):
        a, b = ident(rng), ident(rng, 1)
        blocks += [
            f"static int {a}(struct {b} *p, size_t n) {{\n"
            f"    for (size_t i = 0; i < n; i++) p->{b}[i] ^= {rng.randint(0, 255)};\n"
            "    return 0;\n"
            "}\n",
            f"#define {a.upper()}_{rng.randint(0, 99999)} {rng.randint(0, 1 << 16)}\n",
        ]
    return blocks


def md_pool(rng):
    blocks = []
    for _ in range(800):
        blocks += [
            f"## {camel(rng)} {rng.choice(WORDS)}\n\n"
            f"The {ident(rng, 1)} service owns {ident(rng, 1)} data and publishes {ident(rng, 1)} events.\n\n"
            f"- `{ident(rng)}`: {rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(WORDS)}\n",
        ]
    blocks.append("Connect locally with `psql postgres://localhost:5432/dev`.\n")
    return blocks


# What wraps the sampled blocks, per pool: (header, footer). `{head}` is where a test file's
# destructive setup goes (after the imports, before the main class).
FRAME = {
    "python": ("import logging\n\n{head}", ""),
    "python_test": ("import pytest\n\n{head}", ""),
    "javascript": ("{head}", ""),
    "javascript_test": ("{head}", ""),
    "typescript": ("{head}", ""),
    "ruby": ("{head}", ""),
    "ruby_test": ("require \"rails_helper\"\n\n{head}", ""),
    "go": ("package store\n\nimport (\n\t\"context\"\n\t\"fmt\"\n)\n\n{head}", ""),
    "go_test": ("package store\n\nimport (\n\t\"context\"\n\t\"testing\"\n)\n\n{head}", ""),
    "java": ("package com.acme;\n\nimport java.util.Optional;\n\n{head}public class Service {\n", "}\n"),
    "java_test": (
        "package com.acme;\n\nimport org.junit.jupiter.api.Test;\nimport static org.junit.jupiter.api.Assertions.assertEquals;\n\n"
        "{head}class ServiceTest {\n",
        "}\n",
    ),
    "c": ("#include <stddef.h>\n\n{head}", ""),
    "md": ("{head}", ""),
}


EXT = {
    "python": "py",
    "javascript": "js",
    "typescript": "ts",
    "ruby": "rb",
    "go": "go",
    "java": "java",
}


class Gen:
    def __init__(self, out, seed, services):
        self.out = out
        self.rng = random.Random(seed)
        self.services = services
        self.files = 0
        self.bytes = 0
        rng = self.rng
        self.pools = {
            "python": python_pool(rng),
            "javascript": js_pool(rng),
            "typescript": js_pool(rng, ts=True),
            "ruby": ruby_pool(rng),
            "go": go_pool(rng),
            "java": java_pool(rng),
            "c": c_pool(rng),
            "md": md_pool(rng),
            "python_test": python_test_pool(rng),
            "javascript_test": js_test_pool(rng),
            "ruby_test": ruby_test_pool(rng),
            "go_test": go_test_pool(rng),
            "java_test": java_test_pool(rng),
        }
        self.owners = []

    def write(self, rel, text):
        path = os.path.join(self.out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = text.encode("utf-8")
        with open(path, "wb") as f:
            f.write(data)
        self.files += 1
        self.bytes += len(data)

    def body(self, pool, lines, head=""):
        """About `lines` lines of `pool` blocks, framed so the file parses."""
        header, footer = FRAME[pool]
        out = [header.replace("{head}", head)]
        n = 0
        blocks = self.pools[pool]
        while n < lines:
            block = self.rng.choice(blocks)
            out.append(block + "\n")
            n += block.count("\n") + 1
        out.append(footer)
        return "".join(out)

    # ---------------------------------------------------------------- services

    def service(self, i):
        rng = self.rng
        name = f"{ident(rng, 1)}-{ident(rng, 1)}-{i:03d}".replace("_", "-")
        lang = LANGS[i % len(LANGS)]
        base = f"services/{name}"
        team = f"@acme/{rng.choice(WORDS)}-team"
        # Some services have no owner line: the config-path rule has something to find.
        if rng.random() < 0.85:
            self.owners.append(f"/{base}/ {team}")
        self.sources(base, lang, name)
        self.tests(base, lang)
        self.migrations(base, i)
        self.config(base, name, lang)
        self.chart(name, i)
        self.manifests(name)
        if i % 9 == 0:
            self.vendored_go(base)

    def sources(self, base, lang, name):
        rng = self.rng
        ext = EXT[lang]
        layout = {
            "python": f"{base}/{name.split('-')[0]}",
            "javascript": f"{base}/src",
            "typescript": f"{base}/src",
            "ruby": f"{base}/app/models",
            "go": f"{base}/internal",
            "java": f"{base}/src/main/java/com/acme/{name.split('-')[0]}",
        }[lang]
        for j in range(rng.randint(40, 90)):
            sub = rng.choice(["", "api/", "core/", "util/", "handlers/", "models/"])
            fname = f"{layout}/{sub}{ident(rng)}_{j}.{ext}"
            self.write(fname, self.body(lang, rng.randint(30, 400)))
        self.write(f"{base}/README.md", self.body("md", rng.randint(20, 120)))
        self.write(
            f"{base}/Dockerfile",
            f"FROM acme/{lang}-base:2024\nCOPY . /app\nRUN make build\nCMD [\"/app/bin/{name}\"]\n",
        )
        if lang in ("javascript", "typescript"):
            deps = "".join(
                f'    "node_modules/{ident(rng, 1, "-")}-{k}": {{"version": "{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}", '
                f'"resolved": "https://registry.npmjs.org/x/-/x-{k}.tgz", "integrity": "sha512-{rng.getrandbits(256):064x}"}},\n'
                for k in range(rng.randint(300, 1200))
            )
            self.write(
                f"{base}/package-lock.json",
                '{\n  "name": "' + name + '",\n  "lockfileVersion": 3,\n  "packages": {\n' + deps + '    "": {}\n  }\n}\n',
            )
            self.write(
                f"{base}/package.json",
                '{ "name": "' + name + '", "scripts": { "test": "jest" } }\n',
            )
            self.write(f"{base}/tsconfig.json", '{ "compilerOptions": { "strict": true } }\n')

    def tests(self, base, lang):
        rng = self.rng
        ext = EXT[lang]
        where = {
            "python": f"{base}/tests",
            "javascript": f"{base}/src/__tests__",
            "typescript": f"{base}/test",
            "ruby": f"{base}/spec/models",
            "go": f"{base}/internal",
            "java": f"{base}/src/test/java/com/acme",
        }[lang]
        for j in range(rng.randint(10, 35)):
            stem = ident(rng)
            fname = {
                "python": f"{where}/test_{stem}_{j}.py",
                "javascript": f"{where}/{stem}_{j}.test.js",
                "typescript": f"{where}/{stem}_{j}.spec.ts",
                "ruby": f"{where}/{stem}_{j}_spec.rb",
                "go": f"{where}/{stem}_{j}_test.go",
                "java": f"{where}/{camel(rng)}{j}Test.java",
            }[lang]
            roll = rng.random()
            head = ""
            if roll < 0.04:
                head = destructive_setup(lang, guarded=False)
            elif roll < 0.10:
                head = destructive_setup(lang, guarded=True)
            pool = "javascript_test" if lang == "typescript" else f"{lang}_test"
            self.write(fname, self.body(pool, rng.randint(30, 250), head))
        if lang == "python":
            self.write(f"{where}/conftest.py", destructive_setup("python", guarded=rng.random() < 0.7))
        if lang == "ruby":
            self.write(f"{base}/spec/spec_helper.rb", destructive_setup("ruby", guarded=True))

    def migrations(self, base, i):
        rng = self.rng
        style = ["flyway", "golang-migrate", "plain"][i % 3]
        n = rng.randint(8, 30)
        for k in range(1, n + 1):
            table = ident(rng)
            sql = create_table(rng, table)
            if k == n and i % 11 == 0:
                sql += chain_trigger(table, locked=rng.random() < 0.5)
            if style == "flyway":
                self.write(f"{base}/src/main/resources/db/migration/V{k}__{table}.sql", sql)
            elif style == "golang-migrate":
                self.write(f"{base}/migrations/{k:06d}_{table}.up.sql", sql)
                self.write(f"{base}/migrations/{k:06d}_{table}.down.sql", f"DROP TABLE IF EXISTS {table};\n")
            else:
                self.write(f"{base}/db/migrations/{k:03d}_{table}.sql", sql)

    def config(self, base, name, lang):
        rng = self.rng
        db = name.split("-")[0]
        self.write(
            f"{base}/.env.example",
            f"DATABASE_URL=postgresql://app:${{DB_PASSWORD}}@localhost:5432/{db}\nREDIS_URL=redis://localhost:6379/0\nLOG_LEVEL=info\nPORT=8080\n",
        )
        self.write(
            f"{base}/.env.test",
            f"DATABASE_URL=postgres://test:test@localhost:5432/{db}_test\nLOG_LEVEL=debug\n",
        )
        if rng.random() < 0.05:
            # A real finding: a committed staging .env with a literal production password.
            self.write(
                f"{base}/.env.staging",
                f"DATABASE_URL=postgresql://{db}_app:S3cr3t-{rng.getrandbits(32):08x}@pg-{db}.prod.internal:5432/{db}\n",
            )
        self.write(
            f"{base}/docker-compose.yml",
            "services:\n  app:\n    build: .\n    environment:\n"
            f"      DATABASE_URL: postgres://app:app@db:5432/{db}\n    depends_on: [db]\n"
            "  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: app\n",
        )
        if lang == "java":
            res = f"{base}/src/main/resources"
            self.write(
                f"{res}/application.yml",
                "spring:\n  datasource:\n    url: ${DATABASE_URL}\n    username: ${DB_USER}\n"
                "    password: ${DB_PASSWORD}\n  jpa:\n    open-in-view: false\nserver:\n  port: 8080\n",
            )
            self.write(
                f"{res}/application-dev.properties",
                f"spring.datasource.url=jdbc:postgresql://localhost:5432/{db}\nlogging.level.root=DEBUG\n",
            )
        if lang == "python":
            self.write(
                f"{base}/setup.cfg",
                f"[metadata]\nname = {name}\n[tool:pytest]\ntestpaths = tests\n[flake8]\nmax-line-length = 100\n",
            )
        if lang == "go":
            self.write(f"{base}/config.toml", f"[server]\nport = 8080\n[database]\nhost = \"${{DB_HOST}}\"\nname = \"{db}\"\n")

    def chart(self, name, i):
        rng = self.rng
        base = f"deploy/charts/{name}"
        db = name.split("-")[0]
        self.write(f"{base}/Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: 1.{i}.0\nappVersion: \"{rng.randint(1, 40)}.0\"\n")
        self.write(f"{base}/values.yaml", values_yaml(rng, name, db, "default"))
        for env in ENVS:
            text = values_yaml(rng, name, db, env)
            if env == "staging" and rng.random() < 0.03:
                # Incident 001's shape: the production DSN left in the staging file.
                text += f"  url: postgresql://{db}_app:Pr0d-{rng.getrandbits(24):06x}@prod-pg-{db}.internal:5432/{db}\n"
            self.write(f"{base}/values-{env}.yaml", text)
        for t in ["deployment", "service", "ingress", "configmap", "hpa"]:
            self.write(f"{base}/templates/{t}.yaml", helm_template(t))
        self.write(f"{base}/templates/_helpers.tpl", '{{- define "app.fullname" -}}\n{{ .Release.Name }}-{{ .Chart.Name }}\n{{- end }}\n')

    def manifests(self, name):
        rng = self.rng
        for env in ENVS:
            base = f"deploy/k8s/{env}/{name}"
            self.write(f"{base}/deployment.yaml", k8s_deployment(rng, name, env))
            self.write(f"{base}/service.yaml", f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  ports:\n    - port: 80\n      targetPort: 8080\n  selector:\n    app: {name}\n")
            self.write(
                f"{base}/configmap.yaml",
                f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\ndata:\n  LOG_LEVEL: info\n  DB_HOST: pg-{name.split('-')[0]}.{env}.internal\n  FEATURE_FLAGS: \"{ident(rng)},{ident(rng)}\"\n",
            )

    def vendored_go(self, base):
        rng = self.rng
        for lib in range(rng.randint(3, 8)):
            root = f"{base}/vendor/github.com/{ident(rng, 1)}/{ident(rng, 1)}{lib}"
            for k in range(rng.randint(10, 40)):
                self.write(f"{root}/{ident(rng)}_{k}.go", self.body("go", rng.randint(50, 600)))

    # ---------------------------------------------------------------- shared

    def third_party(self):
        rng = self.rng
        for lib in range(60):
            root = f"third_party/{ident(rng, 1)}{lib}"
            for k in range(rng.randint(40, 120)):
                ext = rng.choice(["c", "h", "c", "cc"])
                self.write(f"{root}/src/{ident(rng)}_{k}.{ext}", self.body("c", rng.randint(40, 700)))
            self.write(f"{root}/LICENSE", "Permission is hereby granted, free of charge...\n" * 20)

    def web(self):
        rng = self.rng
        for app in range(6):
            root = f"web/app{app}"
            for k in range(rng.randint(300, 600)):
                sub = rng.choice(["components", "pages", "hooks", "lib", "store"])
                ext = rng.choice(["ts", "tsx", "js"])
                self.write(f"{root}/src/{sub}/{camel(rng)}{k}.{ext}", self.body("typescript", rng.randint(20, 300)))
            for k in range(rng.randint(30, 80)):
                self.write(f"{root}/src/__tests__/{camel(rng)}{k}.test.tsx", self.body("javascript_test", rng.randint(20, 150)))
            # Build output and dependencies: gitignored, so neither tool reads them.
            for k in range(20):
                self.write(f"{root}/dist/chunk-{k}.js", self.body("javascript", 400))

    def docs(self):
        rng = self.rng
        for k in range(600):
            self.write(f"docs/{rng.choice(['adr', 'runbooks', 'guides'])}/{ident(rng, 2, '-')}-{k}.md", self.body("md", rng.randint(20, 200)))

    def platform(self):
        rng = self.rng
        for env in ENVS:
            self.write(
                f"infra/terraform/{env}/terraform.tfvars",
                f"region = \"eu-west-1\"\nenv = \"{env}\"\ndb_instance_class = \"db.r6g.large\"\ndb = {{\n  host = \"pg-main.{env}.internal\"\n  username = \"admin\"\n  password_secret = \"arn:aws:secretsmanager:eu-west-1:1234:secret:pg\"\n}}\n",
            )
            self.write(
                f"infra/postgres/{env}/postgresql.conf",
                "max_connections = 400\nshared_buffers = 8GB\nwal_level = replica\n"
                + ("fsync = off\n" if env == "dev" else "fsync = on\n")
                + "synchronous_commit = on\n",
            )
        for k in range(40):
            self.write(f".github/workflows/{ident(rng, 2, '-')}-{k}.yml", ci_workflow(rng))
        self.write(".gitignore", "dist/\nnode_modules/\n*.log\n__pycache__/\n")
        self.write(".github/CODEOWNERS", "# Owners of every service\n* @acme/platform\n" + "\n".join(self.owners) + "\n/deploy/ @acme/sre\n")

    def run(self):
        if os.path.exists(self.out):
            shutil.rmtree(self.out)
        os.makedirs(os.path.join(self.out, ".git"))
        for i in range(self.services):
            self.service(i)
        self.third_party()
        self.web()
        self.docs()
        self.platform()


def destructive_setup(lang, guarded):
    if lang == "python":
        guard = '    assert "test" in os.environ["DATABASE_URL"], "refusing to reset a non-test database"\n' if guarded else ""
        return (
            "import os\nimport pytest\n\n\n@pytest.fixture(autouse=True)\ndef reset_db(db):\n"
            + guard
            + '    db.execute("TRUNCATE orders, payments RESTART IDENTITY CASCADE")\n    yield\n\n\n'
        )
    if lang in ("javascript", "typescript"):
        guard = "  if (process.env.NODE_ENV !== 'test') throw new Error('not a test database');\n" if guarded else ""
        return "beforeEach(async () => {\n" + guard + "  await db.query('TRUNCATE TABLE users CASCADE');\n});\n\n"
    if lang == "ruby":
        guard = "  abort('not test') unless Rails.env.test?\n" if guarded else ""
        return "RSpec.configure do |config|\n  config.before(:suite) do\n" + guard + "    DatabaseCleaner.clean_with(:truncation)\n  end\nend\n\n"
    if lang == "go":
        guard = '\tif !strings.Contains(os.Getenv("DATABASE_URL"), "test") {\n\t\tlog.Fatal("not a test database")\n\t}\n' if guarded else ""
        return "func TestMain(m *testing.M) {\n" + guard + '\tdb.Exec("TRUNCATE accounts CASCADE")\n\tos.Exit(m.Run())\n}\n\n'
    guard = '        assumeTrue(System.getenv("APP_ENV").equals("test"));\n' if guarded else ""
    return "abstract class BaseTest {\n    @BeforeEach\n    void reset() {\n" + guard + '        jdbc.execute("TRUNCATE TABLE ledger");\n    }\n}\n\n'


def create_table(rng, table):
    cols = ",\n".join(f"    {ident(rng, 1)}_{k} {rng.choice(['text', 'bigint', 'timestamptz', 'jsonb', 'numeric(12,2)'])}" for k in range(rng.randint(3, 12)))
    return (
        f"-- {table}\nCREATE TABLE IF NOT EXISTS {table} (\n    id bigserial PRIMARY KEY,\n{cols}\n);\n"
        f"CREATE INDEX IF NOT EXISTS {table}_idx ON {table} (id);\n"
    )


def chain_trigger(table, locked):
    lock = "    PERFORM pg_advisory_xact_lock(42, hashtext(NEW.org_id::text));\n" if locked else ""
    return (
        f"\nCREATE OR REPLACE FUNCTION {table}_chain() RETURNS trigger AS $$\nDECLARE\n    prev text;\nBEGIN\n"
        + lock
        + f"    SELECT hash INTO prev FROM {table} WHERE org_id = NEW.org_id ORDER BY id DESC LIMIT 1;\n"
        "    NEW.prev_hash := prev;\n    NEW.hash := encode(digest(coalesce(prev, '') || NEW.payload::text, 'sha256'), 'hex');\n"
        "    RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n\n"
        f"CREATE TRIGGER {table}_chain BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_chain();\n"
    )


def values_yaml(rng, name, db, env):
    lines = [
        f"# Values for {name} ({env})",
        f"replicaCount: {rng.randint(1, 6)}",
        "image:",
        f"  repository: registry.acme.internal/{name}",
        f"  tag: \"{rng.randint(1, 900)}\"",
        "  pullPolicy: IfNotPresent",
        "resources:",
        f"  limits: {{cpu: {rng.randint(1, 4)}, memory: {rng.choice(['256Mi', '512Mi', '1Gi'])}}}",
        "  requests:",
        "    cpu: 100m",
        "    memory: 128Mi",
        "podAnnotations: {}",
        "nodeSelector: {}",
        "tolerations: []",
        "env:",
    ]
    for k in range(rng.randint(5, 40)):
        lines += [f"  - name: {ident(rng).upper()}_{k}", f"    value: \"{ident(rng)}\""]
    lines += [
        "  - name: DATABASE_URL",
        "    valueFrom:",
        "      secretKeyRef:",
        f"        name: {name}-db",
        "        key: url",
        "ingress:",
        "  enabled: true",
        "  hosts:",
        f"    - host: {name}.{env}.acme.example",
        "      paths: [\"/\"]",
        "database:",
        f"  existingSecret: {name}-db",
        f"  host: pg-{db}.{env}.internal",
        "  port: 5432",
    ]
    return "\n".join(lines) + "\n"


def helm_template(kind):
    return (
        "apiVersion: apps/v1\n"
        f"kind: {kind.capitalize()}\n"
        "metadata:\n  name: {{ include \"app.fullname\" . }}\n  labels:\n    {{- include \"app.labels\" . | nindent 4 }}\n"
        "spec:\n  {{- if not .Values.autoscaling.enabled }}\n  replicas: {{ .Values.replicaCount }}\n  {{- end }}\n"
        "  template:\n    spec:\n      containers:\n        - name: app\n          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n"
        "          env:\n            {{- toYaml .Values.env | nindent 12 }}\n"
    )


def k8s_deployment(rng, name, env):
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {env}\n  labels:\n    app: {name}\n"
        f"spec:\n  replicas: {rng.randint(1, 8)}\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n"
        f"    spec:\n      containers:\n        - name: {name}\n          image: registry.acme.internal/{name}:{rng.randint(1, 900)}\n"
        "          ports:\n            - containerPort: 8080\n          env:\n            - name: DATABASE_URL\n              valueFrom:\n"
        f"                secretKeyRef:\n                  name: {name}-db\n                  key: url\n"
        "          resources:\n            limits:\n              memory: 512Mi\n"
    )


def ci_workflow(rng):
    return (
        f"name: {ident(rng, 2, ' ')}\non:\n  pull_request:\n    paths: ['services/**']\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        "    services:\n      postgres:\n        image: postgres:16\n        env:\n          POSTGRES_PASSWORD: postgres\n"
        "    env:\n      DATABASE_URL: postgres://postgres:postgres@localhost:5432/test\n"
        "    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--services", type=int, default=200)
    args = ap.parse_args()
    g = Gen(args.out, args.seed, args.services)
    g.run()
    print(f"{g.files} files, {g.bytes / 1e6:.1f} MB in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
