#!/bin/sh
# The pipeline's result computed without spotdag: the same programs, one after the other, in a
# temporary folder. Prints the sha256 of result.txt, which `spotdag run examples/pipeline/job.json`
# and `npm run demo -- --example pipeline` must reproduce.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pieces=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["stages"][1]["items"]))' "$here/job.json")
python3 "$here/generate.py" > "$work/data.txt"
mkdir -p "$work/pieces"
split -n "l/$pieces" -d -a 2 "$work/data.txt" "$work/pieces/piece-"
i=0
while [ "$i" -lt "$pieces" ]; do
  (cd "$work" && python3 "$here/process.py" "$i")
  i=$((i + 1))
done
cat "$work"/processed-*.txt | LC_ALL=C sort -t, -k2,2 > "$work/result.txt"
sha256sum "$work/result.txt" | cut -d' ' -f1
