#!/usr/bin/env bash
# Benchmarks premortem on a generated monorepo against the floor of reading the same files:
# `rg -c 'postgres(ql)?://'` (walk + read + one regex), in the same run, with hyperfine.
#
#   scripts/bench.sh                  # ~40k files, ~230 MB tree in $TMPDIR, 15 runs each
#   scripts/bench.sh --runs 30        # more runs
#   scripts/bench.sh --services 60    # a smaller tree
#   scripts/bench.sh --real-code      # also Django's source (pip download), real test suites
#
# Prints medians and min/max, the premortem/rg ratio, a pre-commit-style run on 10 files and
# peak RSS, and checks them against the targets (full scan <= 1.5 x rg, pre-commit <= 10 ms,
# peak RSS <= 100 MB). Needs cargo, python3 and (installed with apt-get when missing) hyperfine,
# ripgrep and GNU time. The tree is regenerated only when the generator or its arguments change.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=15
services=200
seed=7
real_code=0
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --services) services="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --real-code) real_code=1; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

# ---------------------------------------------------------------- tools
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v rg >/dev/null || missing+=(ripgrep)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ---------------------------------------------------------------- build
echo "== cargo build --release"
cargo build --release --quiet
target_dir="${CARGO_TARGET_DIR:-target}"
work="$(mktemp -d "${TMPDIR:-/tmp}/premortem-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# A private copy, so a concurrent build cannot swap the binary mid-benchmark.
bin="$work/premortem"
cp "$target_dir/release/premortem" "$bin"

# ---------------------------------------------------------------- tree
tree="${BENCH_TREE:-${TMPDIR:-/tmp}/premortem-bench-tree}"
stamp="$(sha256sum scripts/gen_monorepo.py | cut -c1-16)-s$seed-n$services"
if [ ! -f "$tree.stamp" ] || [ "$(cat "$tree.stamp")" != "$stamp" ]; then
    echo "== generating $tree"
    rm -f "$tree.stamp"
    python3 scripts/gen_monorepo.py "$tree" --seed "$seed" --services "$services"
    echo "$stamp" >"$tree.stamp"
fi
files=$(find "$tree" -type f -not -path '*/.git/*' | wc -l)
mb=$(du -sm --apparent-size "$tree" | cut -f1)
cores=$(nproc)

# ---------------------------------------------------------------- full scan vs rg
echo "== full scan: premortem check vs rg ($files files, $mb MB, $cores cores)"
# The third command shows what the syntax-tree analysis of test files costs: the same scan with
# unguarded-destructive-fixture turned off.
printf 'rules:\n  unguarded-destructive-fixture: off\n' >"$work/no-fixture.yaml"
hyperfine --shell=none --warmup 3 --runs "$runs" --ignore-failure --style basic \
    --export-json "$work/full.json" \
    --command-name "premortem check" "$bin check $tree" \
    --command-name "rg -c" "rg -c 'postgres(ql)?://' $tree" \
    --command-name "premortem check, fixture rule off" "$bin check --config $work/no-fixture.yaml $tree"

# ---------------------------------------------------------------- pre-commit
# Ten changed files of the kinds a commit touches: values, .env, migrations, tests, source.
mapfile -t changed < <(
    # head closes its pipe early: sort then dies of SIGPIPE, which must not end the list.
    set +e +o pipefail
    cd "$tree" && {
        find deploy/charts -name 'values-*.yaml' | sort | head -n 3
        find services -name '.env.*' | sort | head -n 2
        find services -path '*migrations*' -name '*.sql' | sort | head -n 2
        find services -name 'test_*.py' | sort | head -n 1
        find services -name '*_test.go' | sort | head -n 1
        find services -name '*.java' -path '*/main/*' | sort | head -n 1
    }
)
echo "== pre-commit: premortem check on ${#changed[@]} files"
(cd "$tree" && hyperfine --shell=none --warmup 10 --runs $((runs * 4)) --ignore-failure --style basic \
    --export-json "$work/precommit.json" \
    --command-name "premortem check <10 files>" "$bin check ${changed[*]}")

# ---------------------------------------------------------------- real code
# Django's source release: 2,700 test modules written by people, not by a generator, many of them
# saying `delete` and `drop`. The same comparison, for a second opinion on the generated tree.
if [ "$real_code" = 1 ]; then
    django="${TMPDIR:-/tmp}/premortem-bench-django-5.2.8"
    if [ ! -d "$django/.git" ]; then
        echo "== fetching Django 5.2.8's source release"
        rm -rf "$django" && mkdir -p "$django.dl"
        python3 -m pip download --quiet --no-deps --no-binary :all: --dest "$django.dl" django==5.2.8
        tar -xzf "$django.dl"/django-5.2.8.tar.gz -C "$(dirname "$django")"
        mv "$(dirname "$django")/django-5.2.8" "$django" && rm -rf "$django.dl"
        git -C "$django" init --quiet
    fi
    echo "== real code: premortem check vs rg on Django 5.2.8"
    hyperfine --shell=none --warmup 2 --runs "$runs" --ignore-failure --style basic \
        --export-json "$work/django.json" \
        --command-name "premortem check" "$bin check $django" \
        --command-name "rg -c" "rg -c 'postgres(ql)?://' $django"
fi

# ---------------------------------------------------------------- memory
rss() {
    local max=0 kb
    for _ in 1 2 3; do
        /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || true
        kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
        [ "$kb" -gt "$max" ] && max=$kb
    done
    echo "$max"
}
pm_rss=$(rss "$bin" check "$tree")
rg_rss=$(rss rg -c 'postgres(ql)?://' "$tree")
scanned=$("$bin" check --format json "$tree" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["files_scanned"], len(d["findings"]))' || true)

# ---------------------------------------------------------------- summary
python3 - "$work" "$pm_rss" "$rg_rss" "$files" "$mb" "$cores" "$scanned" <<'EOF'
import json, sys
work, pm_rss, rg_rss, files, mb, cores, scanned = sys.argv[1:8]
full = {r["command"]: r for r in json.load(open(f"{work}/full.json"))["results"]}
pre = json.load(open(f"{work}/precommit.json"))["results"][0]
try:
    django = {r["command"]: r for r in json.load(open(f"{work}/django.json"))["results"]}
except FileNotFoundError:
    django = None
ms = lambda s: s * 1000
pm, rg = full["premortem check"], full["rg -c"]
nofix = full["premortem check, fixture rule off"]
ratio = pm["median"] / rg["median"]
ratio_min = pm["min"] / rg["min"]
n_scanned, n_findings = (scanned.split() + ["?", "?"])[:2]
print()
print(f"tree: {files} files, {mb} MB; premortem read {n_scanned} of them and reported {n_findings} findings; {cores} cores")
print(f"{'':28} {'median':>9} {'min':>9} {'max':>9}")
rows = (
    ("premortem check (full)", pm),
    ("rg -c (floor)", rg),
    ("  without fixture rule", nofix),
    ("premortem check (10 files)", pre),
)
for name, r in rows:
    print(f"{name:28} {ms(r['median']):8.1f}ms {ms(r['min']):8.1f}ms {ms(r['max']):8.1f}ms")
print(f"ratio premortem/rg: {ratio:.2f} x (medians), {ratio_min:.2f} x (minimums)")
print(f"ratio premortem/rg with unguarded-destructive-fixture off: {nofix['median'] / rg['median']:.2f} x (medians)")
if django:
    d_pm, d_rg = django["premortem check"], django["rg -c"]
    print(
        f"Django 5.2.8: premortem {ms(d_pm['median']):.1f} ms, rg {ms(d_rg['median']):.1f} ms: "
        f"{d_pm['median'] / d_rg['median']:.2f} x (medians)"
    )
print(f"peak RSS: premortem {int(pm_rss) / 1024:.1f} MB, rg {int(rg_rss) / 1024:.1f} MB")
print()
checks = [
    ("full scan <= 1.5 x rg (median)", ratio <= 1.5, f"{ratio:.2f} x"),
    ("pre-commit on 10 files <= 10 ms (median)", ms(pre["median"]) <= 10, f"{ms(pre['median']):.1f} ms"),
    ("peak RSS <= 100 MB", int(pm_rss) <= 100 * 1024, f"{int(pm_rss) / 1024:.1f} MB"),
]
for what, ok, got in checks:
    print(f"{'PASS' if ok else 'MISS'}  {what}: {got}")
EOF
