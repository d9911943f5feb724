#!/bin/sh
# The three uses of glimpse, on the embedded demo model and the demo pictures
# in assets/ (assets/MODEL.md says what that model can and cannot see):
#   1. describe a picture (in English, then with a Korean prompt),
#   2. ask about a screenshot,
#   3. caption a whole folder, resumably, into JSON lines.
# Usage: demos/demo-model.sh [GLIMPSE [ASSETS]]   (defaults: build/glimpse, assets)
set -eu
glimpse=${1:-build/glimpse}
assets=${2:-assets}

echo "== glimpse describe $assets/scene.png"
"$glimpse" describe "$assets/scene.png" -q
echo "== glimpse ask $assets/scene.png \"이 그림을 설명해 주세요.\""
"$glimpse" ask "$assets/scene.png" "이 그림을 설명해 주세요." -q

echo "== glimpse ask $assets/dialog.png \"What does the dialog say?\""
"$glimpse" ask "$assets/dialog.png" "What does the dialog say?" -q
echo "== glimpse ask $assets/dialog.png \"What does the button say?\""
"$glimpse" ask "$assets/dialog.png" "What does the button say?" -q

folder=$(mktemp -d)
trap 'rm -rf "$folder"' EXIT
cp "$assets/scene.png" "$assets/dialog.png" "$folder/"
echo "== glimpse caption $folder -o $folder/captions.jsonl"
"$glimpse" caption "$folder" -o "$folder/captions.jsonl" -q
cat "$folder/captions.jsonl"
