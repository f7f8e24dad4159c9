#!/usr/bin/env bash
# Builds each fuzz target's seed corpus from the committed fixtures (corpus/ is git-ignored).
set -euo pipefail
cd "$(dirname "$0")"
fixtures=../fixtures
mkdir -p corpus/checkpoint
for case in pooler no_pooler classifier patch32 head_dim_24 f16 bf16 qkv_bias_false; do
  dir=$fixtures/models/$case
  [ -d "$dir" ] || continue
  { cat "$dir/config.json"; printf '\0'; cat "$dir/model.safetensors"; } > "corpus/checkpoint/$case"
done
if [ -d "$fixtures/preprocess" ] || [ -d "$fixtures/images" ]; then
  mkdir -p corpus/image
  for f in "$fixtures"/images/*; do
    case "$f" in *.md) continue ;; esac
    cp "$f" corpus/image/
  done
fi
mkdir -p corpus/preprocessor_config
for f in "$fixtures"/preprocess/*/preprocessor_config.json; do
  cp "$f" "corpus/preprocessor_config/$(basename "$(dirname "$f")").json"
done
if [ -d "$fixtures/preprocess/images" ]; then cp "$fixtures"/preprocess/images/* corpus/image/; fi
mkdir -p corpus/npz
for f in "$fixtures"/convert/*/model.npz; do
  [ -f "$f" ] && cp "$f" "corpus/npz/$(basename "$(dirname "$f")").npz"
done
echo "seed corpora:"; for d in corpus/*; do echo "  $d: $(ls "$d" | wc -l) files"; done
