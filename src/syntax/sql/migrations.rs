//! Finding SQL migrations and ordering them the way their tool applies them.
//!
//! **Which files.** Every `*.sql` file is a migration candidate (the layouts below are only
//! recognised for ordering), except files that undo a migration: golang-migrate `*.down.sql`,
//! Diesel `down.sql`, `*_down.sql`, `*.undo.sql`, `*rollback*.sql`, Flyway undo scripts
//! `U<version>__*.sql`, and anything under a `revert/`, `verify/`, `down/` or `rollback/`
//! directory (Sqitch keeps its revert and verify scripts there). In single-file formats with
//! both directions (dbmate `-- migrate:down`, goose `-- +goose Down`) the down part is ignored:
//! see [`down_sections`].
//!
//! **Migration sets.** A repository can hold several independent migration histories (one per
//! app in a monorepo). A file belongs to the set rooted at its nearest ancestor directory named
//! `migrations`, `migration`, `migrate` or `deploy` (`apps/api/migrations`,
//! `db/migrate`, `supabase/migrations`, `src/main/resources/db/migration`, Sqitch `deploy`);
//! failing that, to its own directory. Sets are replayed separately.
//!
//! **Order within a set.**
//! 1. Plain files, by their path below the set root in natural order: digit runs compare as
//!    numbers, so `2_b.sql` < `10_a.sql`, timestamps (`20240101120000_x.sql`, dbmate,
//!    Supabase, golang-migrate `000001_x.up.sql`) and dated names
//!    (`2026-05-25-b-x.sql` < `2026-05-25-c-x.sql`) sort in time order, and a per-migration
//!    directory (Prisma `migrations/<timestamp>_name/migration.sql`, Diesel) sorts by its name.
//! 2. Flyway versioned migrations `V<version>__<desc>.sql`, by version wherever they sit below
//!    the root (`V1_1` = `V1.1` < `V1.2` < `V2` < `V10`).
//! 3. Flyway repeatable migrations `R__<desc>.sql` last, by description, as Flyway applies
//!    them after all versioned migrations.
//!
//! Sqitch applies changes in `sqitch.plan` order; without reading the plan, deploy scripts are
//! ordered by name, and a reworked change's older copy `name@tag.sql` just before `name.sql`.

use std::cmp::Ordering;
use std::ops::Range;

/// Directory names that root a migration set.
const SET_ROOTS: &[&str] = &["migrations", "migration", "migrate", "deploy"];

/// Directory names whose scripts undo or check a migration instead of applying it.
const UNDO_DIRS: &[&str] = &["revert", "verify", "down", "rollback"];

/// True when `path` (with `/` or `\` separators) is a SQL file that applies a migration.
pub fn is_migration_path(path: &str) -> bool {
    let path = path.replace('\\', "/");
    let mut comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let Some(file) = comps.pop() else {
        return false;
    };
    let lower = file.to_ascii_lowercase();
    let Some(stem) = lower.strip_suffix(".sql") else {
        return false;
    };
    if stem == "down"
        || stem.ends_with(".down")
        || stem.ends_with("_down")
        || stem.ends_with(".undo")
        || stem.contains("rollback")
        || is_flyway_undo(file)
    {
        return false;
    }
    !comps
        .iter()
        .any(|c| UNDO_DIRS.contains(&c.to_ascii_lowercase().as_str()))
}

fn is_flyway_undo(file: &str) -> bool {
    file.strip_prefix('U')
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()) && r.contains("__"))
}

/// The root directory of the migration set `path` belongs to (see the module docs).
pub fn migration_set(path: &str) -> String {
    let path = path.replace('\\', "/");
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let dirs = &comps[..comps.len().saturating_sub(1)];
    let root = dirs
        .iter()
        .rposition(|c| SET_ROOTS.contains(&c.to_ascii_lowercase().as_str()))
        .map_or(dirs.len(), |k| k + 1);
    dirs[..root].join("/")
}

/// A sort key that orders migrations as their tool applies them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MigrationKey {
    set: String,
    class: u8,
    version: Vec<NatPart>,
    /// Sqitch reworks: `name@tag.sql` (0, tag) is an older copy of `name.sql` (1, []).
    rework: (u8, Vec<NatPart>),
    desc: Vec<NatPart>,
    path: String,
}

/// A piece of a natural-order key: a digit run compared as a number, or text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NatPart {
    Num(String),
    Text(String),
}

impl Ord for NatPart {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (NatPart::Num(a), NatPart::Num(b)) => {
                let (ta, tb) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
                ta.len()
                    .cmp(&tb.len())
                    .then_with(|| ta.cmp(tb))
                    .then_with(|| a.len().cmp(&b.len()))
            }
            (NatPart::Num(_), NatPart::Text(_)) => Ordering::Less,
            (NatPart::Text(_), NatPart::Num(_)) => Ordering::Greater,
            (NatPart::Text(a), NatPart::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for NatPart {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn natural(s: &str) -> Vec<NatPart> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let digit = c.is_ascii_digit();
        let end = rest
            .find(|ch: char| ch.is_ascii_digit() != digit)
            .unwrap_or(rest.len());
        let (part, tail) = rest.split_at(end);
        out.push(if digit {
            NatPart::Num(part.to_string())
        } else {
            NatPart::Text(part.to_string())
        });
        rest = tail;
    }
    out
}

/// The sort key of `path` (see the module docs for the rules).
pub fn migration_sort_key(path: &str) -> MigrationKey {
    let norm = path.replace('\\', "/");
    let set = migration_set(&norm);
    let file = norm.rsplit('/').next().unwrap_or(&norm);
    let rel = norm
        .strip_prefix(set.as_str())
        .unwrap_or(&norm)
        .trim_start_matches('/');
    let mut rework = (1, Vec::new());
    let (class, version, desc) = if let Some((ver, desc)) = flyway_versioned(file) {
        let v = ver
            .split(['.', '_'])
            .filter(|p| !p.is_empty())
            .map(|p| NatPart::Num(p.to_string()))
            .collect();
        (1, v, natural(desc))
    } else if let Some(desc) = file.strip_prefix("R__") {
        (2, Vec::new(), natural(desc))
    } else if let Some((current, tag)) = sqitch_rework(rel) {
        rework = (0, natural(&tag));
        (0, natural(&current), Vec::new())
    } else {
        (0, natural(rel), Vec::new())
    };
    MigrationKey {
        set,
        class,
        version,
        rework,
        desc,
        path: norm,
    }
}

/// A Sqitch reworked script `dir/name@tag.sql` -> (`dir/name.sql`, `tag`): the copy of the
/// change as it was at `tag`, applied before the current `name.sql`.
fn sqitch_rework(rel: &str) -> Option<(String, String)> {
    let (dir, file) = rel.rsplit_once('/').map_or(("", rel), |(d, f)| (d, f));
    let stem = file.strip_suffix(".sql")?;
    let (name, tag) = stem.rsplit_once('@')?;
    if name.is_empty() || tag.is_empty() {
        return None;
    }
    let current = if dir.is_empty() {
        format!("{name}.sql")
    } else {
        format!("{dir}/{name}.sql")
    };
    Some((current, tag.to_string()))
}

/// `V<version>__<desc>.sql` -> (version, desc) when the version is digits, `.` and `_`.
fn flyway_versioned(file: &str) -> Option<(&str, &str)> {
    let rest = file.strip_prefix('V')?;
    let (ver, desc) = rest.split_once("__")?;
    let ok = !ver.is_empty()
        && ver.starts_with(|c: char| c.is_ascii_digit())
        && ver
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '_');
    ok.then_some((ver, desc))
}

/// Sorts paths into application order: by set, then as each set's tool applies them.
pub fn order_migrations(paths: &mut [String]) {
    paths.sort_by_cached_key(|p| migration_sort_key(p));
}

/// Byte ranges of the "down" parts of single-file migrations (dbmate `-- migrate:down`,
/// goose `-- +goose Down`), each running to the next "up" marker or the end of the file.
pub fn down_sections(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut down_start: Option<usize> = None;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        match marker(line) {
            Some(Direction::Down) if down_start.is_none() => {
                down_start = Some(pos);
            }
            Some(Direction::Up) => {
                if let Some(s) = down_start.take() {
                    out.push(s..pos);
                }
            }
            _ => {}
        }
        pos += line.len();
    }
    if let Some(s) = down_start {
        out.push(s..text.len());
    }
    out
}

enum Direction {
    Up,
    Down,
}

/// The direction a dbmate or goose marker line starts. Options may follow the marker
/// (`-- migrate:down transaction:false`, `-- +goose Down -- comment`).
fn marker(line: &str) -> Option<Direction> {
    let rest = line.trim().strip_prefix("--")?.trim_start();
    let mut words = rest.split_whitespace();
    let first = words.next()?.to_ascii_lowercase();
    let dir = match first.as_str() {
        "migrate:up" => Direction::Up,
        "migrate:down" => Direction::Down,
        "+goose" => match words.next()?.to_ascii_lowercase().as_str() {
            "up" => Direction::Up,
            "down" => Direction::Down,
            _ => return None,
        },
        _ => return None,
    };
    Some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn which_files_are_migrations() {
        let cases = [
            ("migrations/0001_init.sql", true),
            ("db/migrations/20240101120000_chain.sql", true),
            ("db/migrate/20240101_x.sql", true),
            ("apps/api/migrations/2026-05-25-c-audit.sql", true),
            ("supabase/migrations/20240101000000_x.sql", true),
            ("src/main/resources/db/migration/V1_2__chain.sql", true),
            ("src/main/resources/db/migration/R__views.sql", true),
            ("migrations/000001_init.up.sql", true),
            ("deploy/audit.sql", true),
            ("prisma/migrations/20240101_x/migration.sql", true),
            ("schema.sql", true),
            ("migrations\\0002_x.sql", true),
            // Undo scripts and non-SQL files.
            ("migrations/000001_init.down.sql", false),
            ("migrations/2020-01-01_x/down.sql", false),
            ("migrations/0001_init_down.sql", false),
            ("db/migration/U2__undo.sql", false),
            ("revert/audit.sql", false),
            ("verify/audit.sql", false),
            ("migrations/rollback_0003.sql", false),
            ("migrations/0001_init.py", false),
            ("migrations/", false),
            ("", false),
        ];
        for (p, want) in cases {
            assert_eq!(is_migration_path(p), want, "{p}");
        }
    }

    #[test]
    fn sets_are_rooted_at_migration_directories() {
        let cases = [
            ("apps/api/migrations/x.sql", "apps/api/migrations"),
            ("apps/api/migrations/2024/x.sql", "apps/api/migrations"),
            (
                "prisma/migrations/2024_a/migration.sql",
                "prisma/migrations",
            ),
            ("db/migrate/x.sql", "db/migrate"),
            ("sql/functions/f.sql", "sql/functions"),
            ("schema.sql", ""),
        ];
        for (p, want) in cases {
            assert_eq!(migration_set(p), want, "{p}");
        }
    }

    fn ordered(paths: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = paths.iter().map(|s| s.to_string()).collect();
        order_migrations(&mut v);
        v
    }

    #[test]
    fn flyway_orders_by_version_then_repeatables() {
        let got = ordered(&[
            "db/migration/R__views.sql",
            "db/migration/V10__ten.sql",
            "db/migration/V2__two.sql",
            "db/migration/R__a_functions.sql",
            "db/migration/V1_1__one_one.sql",
            "db/migration/sub/V1_5__nested.sql",
            "db/migration/V1__one.sql",
        ]);
        assert_eq!(
            got,
            vec![
                "db/migration/V1__one.sql",
                "db/migration/V1_1__one_one.sql",
                "db/migration/sub/V1_5__nested.sql",
                "db/migration/V2__two.sql",
                "db/migration/V10__ten.sql",
                "db/migration/R__a_functions.sql",
                "db/migration/R__views.sql",
            ]
        );
    }

    #[test]
    fn numeric_prefixes_compare_as_numbers() {
        let got = ordered(&[
            "migrations/10_ten.up.sql",
            "migrations/2_two.up.sql",
            "migrations/000001_one.up.sql",
        ]);
        assert_eq!(
            got,
            vec![
                "migrations/000001_one.up.sql",
                "migrations/2_two.up.sql",
                "migrations/10_ten.up.sql"
            ]
        );
        let got = ordered(&[
            "apps/api/migrations/2026-05-25-c-fix.sql",
            "apps/api/migrations/2026-05-25-b-chain.sql",
            "apps/api/migrations/2026-05-29-a-lock.sql",
        ]);
        assert_eq!(
            got,
            vec![
                "apps/api/migrations/2026-05-25-b-chain.sql",
                "apps/api/migrations/2026-05-25-c-fix.sql",
                "apps/api/migrations/2026-05-29-a-lock.sql",
            ]
        );
    }

    #[test]
    fn prisma_orders_by_directory_and_sets_stay_apart() {
        let got = ordered(&[
            "prisma/migrations/20240301000000_b/migration.sql",
            "a/migrations/2_x.sql",
            "prisma/migrations/20240101000000_a/migration.sql",
            "a/migrations/1_x.sql",
        ]);
        assert_eq!(
            got,
            vec![
                "a/migrations/1_x.sql",
                "a/migrations/2_x.sql",
                "prisma/migrations/20240101000000_a/migration.sql",
                "prisma/migrations/20240301000000_b/migration.sql",
            ]
        );
    }

    #[test]
    fn down_parts_of_single_file_migrations() {
        let dbmate = "-- migrate:up\nCREATE TABLE a();\n-- migrate:down\nDROP TABLE a;\n";
        let d = down_sections(dbmate);
        assert_eq!(d.len(), 1);
        assert_eq!(&dbmate[d[0].clone()], "-- migrate:down\nDROP TABLE a;\n");
        let goose = "-- +goose Up\nA;\n-- +goose Down\nB;\n-- +goose Up\nC;\n";
        let d = down_sections(goose);
        assert_eq!(&goose[d[0].clone()], "-- +goose Down\nB;\n");
        assert!(down_sections("CREATE TABLE a(); -- migrate:down is mentioned\n").is_empty());
    }

    #[test]
    fn sqitch_reworked_scripts_precede_the_current_one() {
        let got = ordered(&[
            "deploy/audit_chain.sql",
            "deploy/audit_chain@v2.0.sql",
            "deploy/audit_chain@v1.0.sql",
            "deploy/accounts.sql",
            "deploy/audit_chain_index.sql",
        ]);
        assert_eq!(
            got,
            vec![
                "deploy/accounts.sql",
                "deploy/audit_chain@v1.0.sql",
                "deploy/audit_chain@v2.0.sql",
                "deploy/audit_chain.sql",
                "deploy/audit_chain_index.sql",
            ]
        );
        // Near miss: an `@` with nothing on one side is an ordinary name.
        assert_eq!(
            ordered(&["deploy/b.sql", "deploy/@a.sql"]),
            vec!["deploy/@a.sql", "deploy/b.sql"]
        );
    }

    #[test]
    fn markers_with_options_after_them() {
        let dbmate = "-- migrate:up transaction:false\nA;\n-- migrate:down transaction:false\nB;\n";
        let d = down_sections(dbmate);
        assert_eq!(d.len(), 1);
        assert_eq!(
            &dbmate[d[0].clone()],
            "-- migrate:down transaction:false\nB;\n"
        );
        // An up marker with options ends the down section.
        let back = "-- migrate:down\nB;\n-- migrate:up transaction:false\nC;\n";
        assert_eq!(
            &back[down_sections(back)[0].clone()],
            "-- migrate:down\nB;\n"
        );
        let goose = "-- +goose Up\nA;\n-- +goose Down  -- undo\nB;\n-- +goose  up\nC;\n";
        assert_eq!(
            &goose[down_sections(goose)[0].clone()],
            "-- +goose Down  -- undo\nB;\n"
        );
        // Near misses: other words that merely start alike, and other goose annotations.
        for text in [
            "-- migrate:downgrade\nB;\n",
            "-- +goose StatementBegin\nB;\n",
            "-- +goose Downward\nB;\n",
            "-- see migrate:down below\nB;\n",
        ] {
            assert!(down_sections(text).is_empty(), "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn keys_never_panic_and_order_is_total(a in "\\PC{0,40}", b in "[a-zA-Z0-9_./\\\\]{0,40}") {
            let (ka, kb) = (migration_sort_key(&a), migration_sort_key(&b));
            prop_assert_eq!(ka.cmp(&kb), kb.cmp(&ka).reverse());
            let _ = is_migration_path(&a);
            for r in down_sections(&a) {
                prop_assert!(r.end <= a.len() && a.is_char_boundary(r.start));
            }
        }
    }
}
