#!/usr/bin/env bash
# Builds a differential-testing oracle from Calico's own selector code
# (libcalico-go/lib/selector/{tokenizer,parser}) taken from a local git
# checkout/mirror of projectcalico/calico. Only the three source files are
# compiled; logrus, uniquestr and hash are replaced by tiny stubs written
# here, and two Go 1.20+/1.23+ conveniences are shimmed so Go >= 1.19 works.
#
# usage: build.sh <calico-git-dir> [<rev>] [<out-dir>]
# then:  NV_CALICO_SELECTOR_ORACLE=<out-dir>/oracle npx tap test/selector/calico-oracle.test.ts
set -euo pipefail
R=${1:?calico git dir}
REV=${2:-HEAD}
O=${3:-/tmp/calico-selector-oracle}
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$O"
mkdir -p "$O"/libcalico-go/lib/selector/tokenizer "$O"/libcalico-go/lib/selector/parser \
  "$O"/lib/std/uniquestr "$O"/libcalico-go/lib/hash "$O"/logrus "$O"/cmd
for f in tokenizer.go kind_string.go; do
  git -C "$R" cat-file -e "$REV:libcalico-go/lib/selector/tokenizer/$f" 2>/dev/null \
    && git -C "$R" show "$REV:libcalico-go/lib/selector/tokenizer/$f" > "$O/libcalico-go/lib/selector/tokenizer/$f"
done
for f in parser.go ast.go stringset.go; do
  git -C "$R" show "$REV:libcalico-go/lib/selector/parser/$f" > "$O/libcalico-go/lib/selector/parser/$f"
done
cd "$O"
# strings.CutPrefix is Go 1.20+.
sed -i 's/strings\.CutPrefix(/cutPrefix(/g' libcalico-go/lib/selector/tokenizer/tokenizer.go
printf '\nfunc cutPrefix(s, p string) (string, bool) {\n\tif !strings.HasPrefix(s, p) {\n\t\treturn s, false\n\t}\n\treturn s[len(p):], true\n}\n' \
  >> libcalico-go/lib/selector/tokenizer/tokenizer.go
# iter/maps (Go 1.23) are only used by LabelRestrictions.All, which we drop.
python3 - "$O/libcalico-go/lib/selector/parser/ast.go" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('\t"iter"\n', '').replace('\t"maps"\n', '')
s = re.sub(r'func \(lr LabelRestrictions\) All\(\)[^\n]*\n\treturn maps.All\(lr.m\)\n}\n', '', s)
open(p, 'w').write(s)
PY
cp "$HERE/stubs/go.mod.txt" go.mod
cp "$HERE/stubs/logrus.go.txt" logrus/log.go
printf 'module github.com/sirupsen/logrus\n\ngo 1.19\n' > logrus/go.mod
cp "$HERE/stubs/uniquestr.go.txt" lib/std/uniquestr/u.go
cp "$HERE/stubs/hash.go.txt" libcalico-go/lib/hash/h.go
cp "$HERE/stubs/main.go.txt" cmd/main.go
# Releases before v3.30 have no parser.Validate: fall back to Parse.
if ! grep -q '^func Validate' libcalico-go/lib/selector/parser/parser.go; then
  sed -i 's/parser.Validate(i.Sel) == nil/func() bool { _, e := parser.Parse(i.Sel); return e == nil }()/' cmd/main.go
fi
GOFLAGS=-mod=mod GOPROXY=off go build -o oracle ./cmd
echo "$O/oracle"
